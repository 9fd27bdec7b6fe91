package dev.panavisor.host;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * For the tests of what registers with an {@link ExitCleanup}, in this package and others (compare's instances and
 * links, cli's timed runs): a cleanup without a JVM hook, the hook's work played on demand, and the processes a test
 * tags by an argument of their own, to see that none is left.
 */
public final class ExitCleanupFixture {
    private ExitCleanupFixture() {
    }

    /** A cleanup whose JVM exit is {@link #playExit}: a real hook would run at the end of the test JVM. */
    public static ExitCleanup withoutHook() {
        return ExitCleanup.withoutHook();
    }

    /** What the JVM's shutdown hook does on SIGTERM or Ctrl-C. */
    public static void playExit(ExitCleanup cleanup) {
        cleanup.undoAll();
    }

    /** The processes whose command line has {@code word} as one of its arguments, by pid. */
    public static List<Long> processesWith(String word) {
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
                .filter(p -> p.info().arguments().map(args -> List.of(args).contains(word)).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    /** Waits up to 20 s for {@code count} processes with {@code word} among their arguments. */
    public static void awaitProcesses(String word, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (processesWith(word).size() < count) {
            assertTrue(System.nanoTime() < deadline, "the processes did not start");
            Thread.sleep(20);
        }
    }
}
