package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertTrue(lab.contains("-XX:AOTCache=x.aot"), lab.toString());
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

    @Test
    void aRunSearchesTheClassPathForNothingItLacks(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        // A search for a class or resource that no jar has opens every jar on the class path and reads its whole
        // directory of entries (docs/performance.md, "A jar of Panavisor's own classes"). Two did it on every run:
        // picocli's probe for Groovy's Closure class, and System.exit's logger, looking for a logging backend. The
        // JDK's URLClassPath prints each lookup and each jar it opens (with the stack) under this property.
        java.nio.file.Path initrd = java.nio.file.Files.write(dir.resolve("initrd"), new byte[512]);
        List<String> command = new java.util.ArrayList<>(JavaCommand.of(false,
                List.of("-Dsun.misc.URLClassPath.debug=true", "-Xlog:class+load=info:stdout")));
        command.addAll(List.of("run", "--kernel", dir.resolve("no-such-kernel").toString(), "--initrd",
                initrd.toString(), "--exec", "true"));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(1, process.waitFor(), output);
        assertTrue(output.contains("panavisor: kernel file not found: "), output);
        // The property works: the test's classes come from the class path, and each look-up is printed.
        assertTrue(output.contains("URLClassPath.getResource(\"dev/panavisor/cli/RunCommand.class\")"), output);
        assertFalse(output.contains("groovy/lang/Closure"), "picocli looked for Groovy:\n" + output);
        // System.exit's logger looks for a backend on the class path (BootstrapLogger's DetectBackend).
        assertFalse(output.contains("jdk.internal.logger.BootstrapLogger$DetectBackend"),
                "the exit looked for a logging backend:\n" + output);
    }

    @Test
    void runsPathGeneratesNoAnnotationProxyClasses() throws Exception {
        // Annotation proxies cannot live in the AOT cache: each would be generated at every start
        // (RunCommandSpec). A JVM started as Panavisor starts its own, parsing run's options and printing its help.
        List<String> command = new java.util.ArrayList<>(JavaCommand.of(false,
                List.of("-Xlog:class+load=info:stdout")));
        command.addAll(List.of("run", "--exec", "true", "--memory", "512M", "--help"));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), output);
        assertTrue(output.contains("Usage: panavisor run"), output);
        assertFalse(output.contains("source: __dynamic_proxy__"),
                () -> output.lines().filter(l -> l.contains("__dynamic_proxy__")).toList().toString());
        // The check above can fail: the other commands' annotated models do generate them.
        Process check = new ProcessBuilder(JavaCommand.of(false, List.of("-Xlog:class+load=info:stdout")))
                .redirectErrorStream(true).start();
        String all = new String(check.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        check.waitFor();
        assertTrue(all.contains("source: __dynamic_proxy__"), "the full command line builds annotated models");
    }
}
