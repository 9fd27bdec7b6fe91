package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.ExitCleanupFixture;
import dev.panavisor.host.ProcessTree;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** WatchedBoot against a stand-in VMM: a shell that prints what a booting guest's console shows. */
class WatchedBootTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);

    private static final String CONSOLE = """
            echo 'SeaBIOS noise'
            echo '[    0.000000] Linux version 6.1.0'
            echo '[    0.512345] Freeing unused kernel image'
            echo '[    1.234567] Run /init as init process'
            echo 'panavisor-init: booted in 1.30 s'
            sleep 2
            echo 'panavisor-exit-status: 0'
            """;

    @Test
    void timesEachConsoleMilestoneAndReadsMemoryWhileTheGuestIsUp() throws Exception {
        WatchedBoot run = WatchedBoot.run(List.of("sh", "-c", CONSOLE), 0, 256L << 20, MINUTE);
        assertTrue(run.firstLineMillis() > 0, "first kernel line seen");
        assertTrue(run.firstLineMillis() <= run.runsInitMillis());
        assertTrue(run.runsInitMillis() <= run.bootedMillis());
        assertEquals(1.234567, run.guestRunsInitSeconds(), 1e-9);
        // The stand-in maps no 256 MiB guest memory: all its resident memory is the "VMM's".
        assertEquals(0, run.overhead().guestRss());
        assertTrue(run.overhead().vmmRss() > 0);
        // A shell's heap and stack are anonymous, its binary and libraries are files' pages: both parts are there.
        assertTrue(run.overhead().vmmAnonymous() > 0 && run.overhead().vmmAnonymous() < run.overhead().vmmRss(),
                run.overhead().toString());
        assertTrue(run.output().contains("panavisor-exit-status: 0"));
    }

    @Test
    void aRunThatNeverBootsOrEndsWithAnotherStatusIsOneClearError() {
        RunFailedException noBanner = assertThrows(RunFailedException.class, () -> WatchedBoot.run(
                List.of("sh", "-c", "for i in $(seq 40); do echo \"[    0.$i] line $i\"; done"), 0, 1 << 20, MINUTE));
        assertEquals("sh exited with 0 (expected 0, after the init's banner); the last lines it printed are above",
                noBanner.getMessage());
        // The output's last lines beside the message, for the command to print before it; not all 40.
        assertEquals(RunFailedException.TAIL_LINES, noBanner.tail().size());
        assertEquals("[    0.40] line 40", noBanner.tail().getLast());
        RunFailedException status = assertThrows(RunFailedException.class,
                () -> WatchedBoot.run(List.of("sh", "-c", "exit 3"), 0, 1 << 20, MINUTE));
        assertEquals("sh exited with 3 (expected 0, after the init's banner); it printed nothing", status.getMessage());
    }

    /**
     * A guest that stalls with its console open: the limit holds although no line and no end of the output comes,
     * and the VMM is stopped with what it started (here a second sleep holding the output open).
     */
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aRunThatStallsIsStoppedAtItsTimeLimitWithWhatItStarted() {
        String marker = "600." + ProcessHandle.current().pid(); // sleep's argument: these processes' name tag
        long start = System.nanoTime();
        RunFailedException stalled = assertThrows(RunFailedException.class, () -> WatchedBoot.run(
                List.of("sh", "-c", "echo booting; sleep " + marker + " & sleep " + marker), 0, 1 << 20,
                Duration.ofSeconds(1)));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 1 + ProcessTree.GRACE.toSeconds() + 5, "ended after " + seconds + " s");
        assertEquals("sh did not end within 1 s and was stopped; the last lines it printed are above",
                stalled.getMessage());
        assertEquals(List.of("booting"), stalled.tail());
        assertEquals(List.of(), ExitCleanupFixture.processesWith(marker), "the VMM and what it started are gone");
    }
}
