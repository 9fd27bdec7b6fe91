package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.kvm.KvmHost;
import dev.panavisor.testing.Requires;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CheckCommandTest {
    record Result(int exitCode, String out, String err) {
    }

    static Result execute(String... args) {
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out));
        commandLine.setErr(new PrintWriter(err));
        int code = commandLine.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void a_missing_device_is_reported_and_exits_1() {
        Result result = execute("check", "--device", "/nonexistent/kvm");
        assertEquals(1, result.exitCode());
        assertTrue(result.out().contains("device:       /nonexistent/kvm (missing)"), result.out());
        assertTrue(result.out().contains("error:        /nonexistent/kvm does not exist"), result.out());
        assertTrue(result.out().contains("backing:      none (/dev/kvm is missing)"), result.out());
        assertTrue(result.out().contains("verdict:      KVM cannot be used here"), result.out());
    }

    @Test
    void unknown_options_are_a_usage_error_without_stack_trace() {
        Result result = execute("check", "--bogus");
        assertEquals(2, result.exitCode());
        assertTrue(result.err().startsWith("Unknown option: '--bogus'"), result.err());
        assertTrue(!result.err().contains("Exception"), result.err());
    }

    @Test
    @Tag("kvm")
    void on_this_host_it_runs_the_tiny_guests_and_names_the_backing() {
        Requires.kvm();
        Result result = execute("check");
        assertEquals(0, result.exitCode(), result.out());
        assertTrue(result.out().contains("api version:  12"), result.out());
        assertTrue(result.out().contains("tiny guests:  ok"), result.out());
        KvmHost host = KvmHost.probe();
        assertTrue(result.out().contains("backing:      " + host.backing().description()), result.out());
        if (host.bootsLinux()) {
            assertTrue(result.out().contains("verdict:      hardware virtualization"), result.out());
        } else {
            assertTrue(result.out().contains("Linux"), result.out());
            assertTrue(result.out().contains("nested lab"), result.out());
        }
    }
}
