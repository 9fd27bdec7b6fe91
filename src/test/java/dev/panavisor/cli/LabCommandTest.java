package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.lab.LabConfig;
import dev.panavisor.lab.TcgThreads;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Parsing only: no lab is started. */
class LabCommandTest {
    private static LabCommand parse(String... args) {
        LabCommand command = new LabCommand();
        new CommandLine(command).parseArgs(args);
        return command;
    }

    @Test
    void options_before_the_double_dash_configure_the_lab_and_the_rest_is_the_command() {
        LabCommand c = parse("--cpus", "1", "--memory", "2G", "--timeout", "90s", "--workdir", "/tmp", "--",
                "sh", "-c", "exit 7");
        assertEquals(List.of("sh", "-c", "exit 7"), c.command);
        LabConfig config = c.config();
        assertEquals(1, config.cpus());
        assertEquals(2048, config.memoryMiB());
        assertEquals(Duration.ofSeconds(90), config.timeout());
        assertEquals(Path.of("/tmp"), config.workDir());
    }

    @Test
    void a_work_directory_that_is_not_one_is_a_usage_error() {
        UsageException e = assertThrows(UsageException.class,
                () -> parse("--workdir", "/nonexistent-panavisor-dir", "true").config());
        assertEquals("--workdir /nonexistent-panavisor-dir: not a directory", e.getMessage());
        assertThrows(UsageException.class, () -> parse("--workdir", "/etc/hostname", "true").config());
    }

    /** The help text names the default in words, so it is pinned to the constant here. */
    @Test
    void the_help_names_the_tcg_default() {
        StringWriter help = new StringWriter();
        new CommandLine(new LabCommand()).usage(new PrintWriter(help));
        assertTrue(help.toString().replaceAll("\\s+", " ").contains("Default: "
                + TcgThreads.DEFAULT.qemuValue() + "."), help.toString());
    }

    @Test
    void tcg_threads_default_to_the_labs_default_and_take_either_word() {
        assertEquals(TcgThreads.DEFAULT, parse("true").config().tcg());
        LabCommand single = new LabCommand();
        new CommandLine(single).setCaseInsensitiveEnumValuesAllowed(true).parseArgs("--tcg-threads", "single", "true");
        assertEquals(TcgThreads.SINGLE, single.config().tcg());
    }

    @Test
    void words_after_the_command_name_belong_to_the_command_even_without_a_double_dash() {
        LabCommand c = parse("--timeout", "5m", "ls", "-la", "--cpus", "3");
        assertEquals(List.of("ls", "-la", "--cpus", "3"), c.command);
        assertEquals(Duration.ofMinutes(5), c.config().timeout());
    }

    @Test
    void memory_sizes_take_mebibytes_or_units() {
        assertEquals(4096, LabCommand.parseMiB("4096"));
        assertEquals(512, LabCommand.parseMiB("512M"));
        assertEquals(4096, LabCommand.parseMiB("4g"));
        assertThrows(IllegalArgumentException.class, () -> LabCommand.parseMiB("lots"));
        // A count of GiB whose MiB overflow a long came out as some other size (1024 MiB for this one).
        assertThrows(IllegalArgumentException.class, () -> LabCommand.parseMiB("18014398509481985G"));
        assertThrows(IllegalArgumentException.class, () -> LabCommand.parseMiB("2097152G"), "over 2^31 MiB");
        assertThrows(IllegalArgumentException.class, () -> LabCommand.parseMiB("512K"), "not whole MiB");
        assertEquals(1024, LabCommand.parseMiB("1GiB"));
    }

    @Test
    void a_missing_command_or_a_bad_value_is_a_usage_error_with_one_clear_line() {
        CommandLine root = PanavisorCommand.newCommandLine();
        StringWriter err = new StringWriter();
        root.setErr(new PrintWriter(err));
        assertEquals(ExitCodes.USAGE, root.execute("lab"));
        assertTrue(err.toString().startsWith("panavisor: Missing required parameter: 'CMD'"), err.toString());
        assertEquals(1, err.toString().lines().count(), err.toString());

        StringWriter err2 = new StringWriter();
        CommandLine again = PanavisorCommand.newCommandLine();
        again.setErr(new PrintWriter(err2));
        assertEquals(ExitCodes.USAGE, again.execute("lab", "--timeout", "soon", "--", "true"));
        assertTrue(err2.toString().startsWith("panavisor: Invalid value for option '--timeout': not a duration: 'soon'"),
                err2.toString());
    }
}
