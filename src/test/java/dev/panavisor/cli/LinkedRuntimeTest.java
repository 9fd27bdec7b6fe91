package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java runtime {@code ./panavisor} links for Panavisor (tools/lib/runtime.sh, runtime.modules): it holds every
 * module Panavisor and its libraries use, it runs Panavisor, it is linked once, and the launcher names its AOT
 * caches as {@link AotCache} does.
 */
class LinkedRuntimeTest {
    private static final Path PROJECT = Path.of("").toAbsolutePath();
    private static final Path MODULES = PROJECT.resolve("src/main/resources/dev/panavisor/cli/runtime.modules");
    private static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));

    @TempDir
    Path dir;

    /** jdeps, from Panavisor's classes through every class of its dependencies they reach ({@code -R}). */
    @Test
    void theRuntimeHoldsEveryModuleThatPanavisorAndItsLibrariesUse() throws IOException {
        Path classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = ToolProvider.findFirst("jdeps").orElseThrow().run(new PrintStream(out, true), System.err,
                "--print-module-deps", "--ignore-missing-deps", "--multi-release", "25", "-R",
                "--class-path", System.getProperty("java.class.path"), classes.toString());
        assertEquals(0, status, out.toString());
        Set<String> used = new TreeSet<>(Arrays.asList(out.toString(StandardCharsets.UTF_8).strip().split(",")));
        assertTrue(used.contains("java.base") && used.contains("jdk.jfr"), "jdeps found too little: " + used);
        Set<String> linked = new TreeSet<>(JavaCommand.parse(Files.readString(MODULES)));
        used.removeAll(linked);
        assertTrue(used.isEmpty(), "modules used but not in runtime.modules: " + used);
    }

    @Test
    void theLinkedRuntimeRunsPanavisorAndIsLinkedOnce() throws Exception {
        Path root = dir.resolve("project");
        Path modules = root.resolve(PROJECT.relativize(MODULES));
        Files.createDirectories(modules.getParent());
        Files.copy(MODULES, modules);

        Result first = bash("panavisor_runtime \"$1\"", root.toString());
        assertEquals(0, first.status(), first.err());
        Path runtime = root.resolve("target/runtime");
        assertEquals(runtime.toString(), first.out());
        assertTrue(first.err().contains("linking the Java runtime"), first.err());
        assertTrue(Files.isRegularFile(runtime.resolve(AotCache.LINKED_RUNTIME_STAMP)));
        long bytes;
        try (var files = Files.walk(runtime)) {
            bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        assertTrue(bytes < 120L << 20, "the linked runtime takes " + (bytes >> 20) + " MiB");

        List<String> command = new ArrayList<>(List.of(runtime.resolve("bin/java").toString()));
        command.addAll(JavaCommand.sharedOptions());
        command.addAll(List.of("-jar", UserJvm.jar(dir).toString(), "--version"));
        Process java = new ProcessBuilder(command).redirectErrorStream(true).start();
        String version = new String(java.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, java.waitFor(), version);
        assertTrue(version.contains("JVM: " + Runtime.version()), version);

        Result again = bash("panavisor_runtime \"$1\"", root.toString());
        assertEquals(runtime.toString(), again.out());
        assertEquals("", again.err(), "linked again");
    }

    @Test
    void theLauncherNamesTheAotCachesAsAotCacheDoes() throws Exception {
        Path linked = Files.createDirectories(dir.resolve("runtime"));
        Files.writeString(linked.resolve(AotCache.LINKED_RUNTIME_STAMP), "stamp");
        Path jar = PROJECT.resolve("target/panavisor.jar");
        for (Path home : List.of(JAVA_HOME, linked)) {
            for (boolean lab : new boolean[] {false, true}) {
                Result launcher = bash("panavisor_aot_cache \"$1\" \"$2\" \"$3\"",
                        PROJECT.toString(), home.toString(), lab ? "1" : "0");
                assertEquals(0, launcher.status(), launcher.err());
                assertEquals(AotCache.forJar(jar, lab, home).file().toString(), launcher.out(), home + " lab=" + lab);
            }
        }
        assertTrue(AotCache.forJar(jar, true, linked).file().toString().endsWith("-linked.aot"));
        assertFalse(AotCache.forJar(jar, true, JAVA_HOME).file().toString().contains("-linked"));
    }

    /** Sources tools/lib/runtime.sh in bash, JAVA_HOME set to this JVM's home, and runs {@code script} with $1... */
    private static Result bash(String script, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", "-c",
                "set -euo pipefail; . " + PROJECT.resolve("tools/lib/runtime.sh") + "; " + script, "bash"));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("JAVA_HOME", JAVA_HOME.toString());
        Process bash = builder.start();
        bash.getOutputStream().close();
        String err = new String(bash.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        String out = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(bash.waitFor(), out, err);
    }

    private record Result(int status, String out, String err) {
    }
}
