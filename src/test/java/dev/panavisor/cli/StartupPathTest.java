package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What a Panavisor JVM is started with, and what picocli is given to build on run's path. */
class StartupPathTest {
    @Test
    void jvmOptionsSkipCommentsAndBlankLines() {
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC"),
                JavaCommand.parse("# why\n\n--enable-native-access=ALL-UNNAMED\n  # indented comment\n"
                        + "  -XX:+UseSerialGC  \n"));
    }

    @Test
    void theSharedOptionsGrantNativeAccessAndTheLabStopsAtC1() {
        List<String> shared = JavaCommand.sharedOptions();
        assertTrue(shared.contains("--enable-native-access=ALL-UNNAMED"), shared.toString());
        List<String> lab = JavaCommand.of(true, List.of("-XX:AOTCache=x.aot"));
        assertTrue(lab.contains("-XX:TieredStopAtLevel=1"), lab.toString());
        // Tests run from target/classes, where there is no jar: the class path and the main class stand in for it.
        assertTrue(lab.indexOf("-XX:AOTCache=x.aot") < lab.indexOf("-cp"), "JVM options come before the class path");
        assertEquals(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()),
                lab.subList(lab.size() - 3, lab.size()));
        assertTrue(lab.containsAll(shared));
        List<String> host = JavaCommand.of(false, List.of());
        assertTrue(!host.contains("-XX:TieredStopAtLevel=1"), host.toString());
    }

    @Test
    void runGetsOnlyItsOwnCommandModelOthersGetAll() {
        CommandLine run = PanavisorCommand.newCommandLine(1L, "run", "--exec", "true");
        assertEquals(Set.of("run"), run.getSubcommands().keySet());
        CommandLine.ParseResult parsed = run.parseArgs("run", "--exec", "true", "--console", "VIRTIO");
        assertTrue(parsed.subcommand().hasMatchedOption("--exec"));
        CommandLine all = PanavisorCommand.newCommandLine(1L, "check");
        assertTrue(all.getSubcommands().keySet().containsAll(Set.of("run", "check", "bench", "image", "lab", "help")),
                all.getSubcommands().keySet().toString());
    }
}
