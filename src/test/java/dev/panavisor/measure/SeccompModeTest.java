package dev.panavisor.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The Seccomp field of /proc/PID/status, from synthetic text and from real processes. */
class SeccompModeTest {
    @Test
    void the_field_is_read_from_status_text() {
        String status = "Name:\tjava\nState:\tS (sleeping)\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";
        assertEquals(2, SeccompMode.parse(status));
        assertEquals(0, SeccompMode.parse("Name:\tsh\nSeccomp:\t0\n"));
        assertEquals(SeccompMode.UNKNOWN, SeccompMode.parse("Name:\tsh\n"), "a kernel without the field");
        assertEquals(SeccompMode.UNKNOWN, SeccompMode.parse("Seccomp:\tmany\n"));
    }

    @Test
    void a_real_process_is_read_and_one_that_is_gone_is_unknown() throws IOException, InterruptedException {
        // This JVM's own mode: none, or a filter inherited from a container the tests run in.
        int mine = SeccompMode.ofProcess(ProcessHandle.current().pid());
        assertTrue(mine == 0 || mine == 2, "mode " + mine);
        Process gone = new ProcessBuilder(List.of("true")).start();
        gone.waitFor(30, TimeUnit.SECONDS);
        assertEquals(SeccompMode.UNKNOWN, SeccompMode.ofProcess(gone.pid()), "reaped: no /proc entry");
    }
}
