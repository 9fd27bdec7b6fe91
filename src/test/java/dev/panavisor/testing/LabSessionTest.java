package dev.panavisor.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

class LabSessionTest {
    @Test
    void a_session_that_ran_gives_its_work_directory_to_every_test() {
        Path dir = Path.of("/tmp/some-session");
        LabSession session = LabSession.start(() -> dir);
        assertSame(dir, session.work());
        assertSame(dir, session.work());
    }

    @Test
    void a_failed_session_fails_each_test_that_reads_it_in_full_first_then_by_its_first_line() {
        IOException cause = new IOException("L1 stopped while the command ran\n--- L1 console ---\nKernel panic");
        LabSession session = LabSession.start(() -> {
            throw cause;
        });
        AssertionError first = assertThrows(AssertionError.class, session::work);
        assertSame(cause, first.getCause());
        assertTrue(first.getMessage().contains("Kernel panic"), first.getMessage());
        AssertionError second = assertThrows(AssertionError.class, session::work);
        assertEquals("the lab session this test checks failed: L1 stopped while the command ran"
                + " (in full in the first test that failed)", second.getMessage());
    }

    @Test
    void a_failed_assertion_in_the_session_is_kept_too() {
        LabSession session = LabSession.start(() -> {
            throw new AssertionError("the script stopped early");
        });
        assertTrue(assertThrows(AssertionError.class, session::work).getMessage().contains("stopped early"));
    }

    @Test
    void a_skip_still_skips_the_class() {
        TestAbortedException skip = new TestAbortedException("no lab here");
        assertSame(skip, assertThrows(TestAbortedException.class, () -> LabSession.start(() -> {
            throw skip;
        })));
    }
}
