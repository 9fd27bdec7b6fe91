package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ImageCommandTest {
    @Test
    void image_lists_its_subcommands() {
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        StringWriter out = new StringWriter();
        commandLine.setOut(new PrintWriter(out));
        assertEquals(ExitCodes.OK, commandLine.execute("image"));
        assertTrue(out.toString().contains("build"), out.toString());
        assertTrue(out.toString().contains("path"), out.toString());
    }

    @Test
    void build_options_parse_without_building() {
        CommandLine.ParseResult result = PanavisorCommand.newCommandLine()
                .parseArgs("image", "build", "--kernel-only", "--sources", "guest-images");
        CommandLine.ParseResult build = result.subcommand().subcommand();
        assertTrue(build.hasMatchedOption("--kernel-only"));
        assertEquals("guest-images", build.matchedOptionValue("--sources", null).toString());
    }

    @Test
    void unknown_options_are_usage_errors() {
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        commandLine.setErr(new PrintWriter(new StringWriter()));
        assertEquals(ExitCodes.USAGE, commandLine.execute("image", "build", "--no-such-option"));
    }
}
