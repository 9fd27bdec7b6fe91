package dev.panavisor.testing;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.opentest4j.TestAbortedException;

/**
 * The result of a test class's one lab session, started in its {@code @BeforeAll}, whose failure is reported by each
 * test that reads it rather than by the {@code @BeforeAll} itself.
 *
 * <p>Why: tools/test gives a failing lab test one more run (Surefire's {@code rerunFailingTestsCount}) and counts
 * it as a flake, because the lab's emulated CPU still fails now and then outside Panavisor (docs/lab.md, "Stalls":
 * L1's own kernel dying in QEMU's SVM emulation, an early L2 triple fault). Surefire re-runs failed test
 * <em>methods</em>; a failed {@code @BeforeAll} is re-run too but stays an error, so one emulator failure in a
 * 25-scenario session failed the whole suite even though its second session passed every scenario (CI at
 * 2026-12-02). Deferring the failure to the tests puts such a session under the same rule as every other lab test:
 * a second chance, counted and printed, and a failure if it fails twice.
 */
public final class LabSession {
    private final Path work;
    private final Throwable failure;
    private boolean reported;

    private LabSession(Path work, Throwable failure) {
        this.work = work;
        this.failure = failure;
    }

    /**
     * Runs {@code session} now. A skip (the lab cannot run and is not required) still skips the class; any other
     * failure is kept for {@link #work()}.
     */
    public static LabSession start(Callable<Path> session) {
        try {
            return new LabSession(session.call(), null);
        } catch (TestAbortedException skip) {
            throw skip;
        } catch (Exception | AssertionError e) {
            return new LabSession(null, e);
        }
    }

    /**
     * The session's work directory; if the session failed, an {@link AssertionError} that says why (in full in the
     * first test that asks, by its first line after that, so the log does not repeat a console dump per test).
     */
    public synchronized Path work() {
        if (failure == null) {
            return work;
        }
        String message = String.valueOf(failure.getMessage());
        if (reported) {
            message = message.lines().findFirst().orElse(message) + " (in full in the first test that failed)";
        }
        reported = true;
        throw new AssertionError("the lab session this test checks failed: " + message, failure);
    }
}
