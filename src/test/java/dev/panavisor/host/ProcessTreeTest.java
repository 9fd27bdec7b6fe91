package dev.panavisor.host;

import static dev.panavisor.host.ExitCleanupFixture.awaitProcesses;
import static dev.panavisor.host.ExitCleanupFixture.processesWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A process is stopped with everything it started: on SIGTERM when it ends on it, by SIGKILL when it does not. */
class ProcessTreeTest {
    /** A shell with a child of its own, both tagged by {@code marker}; with {@code ignoreTerm}, both ignore SIGTERM. */
    private static Process tree(String marker, boolean ignoreTerm) throws Exception {
        String script = (ignoreTerm ? "trap '' TERM; " : "") + "sleep " + marker + " & sleep " + marker;
        Process root = new ProcessBuilder("sh", "-c", script).start();
        awaitProcesses(marker, 2);
        return root;
    }

    @Test
    @Timeout(60)
    void a_process_that_ends_on_sigterm_is_stopped_with_its_children_without_waiting_out_the_grace() throws Exception {
        String marker = "600.4" + ProcessHandle.current().pid();
        Process root = tree(marker, false);
        long start = System.nanoTime();
        ProcessTree.stop(root);
        assertTrue(System.nanoTime() - start < ProcessTree.GRACE.toNanos(), "ended on SIGTERM");
        assertFalse(root.isAlive());
        assertEquals(List.of(), processesWith(marker), "its child too");
    }

    @Test
    @Timeout(60)
    void one_that_ignores_sigterm_is_killed_when_the_grace_is_over() throws Exception {
        String marker = "600.5" + ProcessHandle.current().pid();
        Process root = tree(marker, true);
        Duration grace = Duration.ofMillis(500);
        long start = System.nanoTime();
        ProcessTree.stop(List.of(root), grace);
        assertTrue(System.nanoTime() - start >= grace.toNanos(), "the grace was given");
        assertFalse(root.isAlive());
        assertEquals(List.of(), processesWith(marker), "its child too");
    }

    @Test
    @Timeout(60)
    void kill_gives_no_grace() throws Exception {
        String marker = "600.6" + ProcessHandle.current().pid();
        Process root = tree(marker, true);
        long start = System.nanoTime();
        ProcessTree.kill(root);
        assertTrue(System.nanoTime() - start < ProcessTree.GRACE.toNanos(), "no grace waited out");
        assertFalse(root.isAlive());
        assertEquals(List.of(), processesWith(marker), "its child too");
    }

    @Test
    void a_process_that_has_ended_is_left_alone() throws Exception {
        Process done = new ProcessBuilder("true").start();
        assertEquals(0, done.waitFor());
        ProcessTree.stop(done);
        ProcessTree.kill(done);
        assertEquals(0, done.exitValue());
    }
}
