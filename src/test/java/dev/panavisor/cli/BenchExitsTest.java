package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** {@code bench exits}' C baseline, without KVM: a host that cannot build it still gets the Java side measured. */
class BenchExitsTest {
    @Test
    void a_host_without_the_compiler_gets_one_line_and_no_baseline() throws InterruptedException {
        StringWriter text = new StringWriter();
        String compiler = "no-such-gcc-" + ProcessHandle.current().pid();
        assertNull(BenchCommand.CBaseline.build(new PrintWriter(text, true), compiler));
        String said = text.toString();
        assertEquals(1, said.lines().count(), said);
        assertTrue(said.startsWith("(no C baseline: cannot build ./tools/bench/exit-loop.c with " + compiler + ": "),
                said);
    }
}
