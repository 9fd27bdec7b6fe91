package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** WatchedBoot against a stand-in VMM: a shell that prints what a booting guest's console shows. */
class WatchedBootTest {
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
        WatchedBoot run = WatchedBoot.run(List.of("sh", "-c", CONSOLE), 0, 256L << 20, 1);
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
        CommandFailedException noBanner = assertThrows(CommandFailedException.class,
                () -> WatchedBoot.run(List.of("sh", "-c", "echo '[    0.000000] Linux'"), 0, 1 << 20, 1));
        assertTrue(noBanner.getMessage().startsWith("sh exited with 0 (expected 0, after the init's banner)"),
                noBanner.getMessage());
        CommandFailedException status = assertThrows(CommandFailedException.class,
                () -> WatchedBoot.run(List.of("sh", "-c", "exit 3"), 0, 1 << 20, 1));
        assertTrue(status.getMessage().startsWith("sh exited with 3"), status.getMessage());
    }
}
