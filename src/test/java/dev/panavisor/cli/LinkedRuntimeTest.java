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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java runtime {@code ./panavisor} links for Panavisor (tools/lib/runtime.sh, runtime.modules): it holds every
 * module Panavisor and its libraries use, it runs Panavisor, its archive holds the lambda forms a run links first
 * (runtime.lambda-forms), it is linked once, and the launcher names its AOT caches as {@link AotCache} does.
 */
class LinkedRuntimeTest {
    private static final Path PROJECT = Path.of("").toAbsolutePath();
    private static final Path MODULES = PROJECT.resolve("src/main/resources/dev/panavisor/cli/runtime.modules");
    private static final Path FORMS = PROJECT.resolve("tools/lib/runtime.lambda-forms");
    private static final Path JAVA_HOME = Path.of(System.getProperty("java.home"));

    @TempDir
    Path dir;

    /** jdeps, from Panavisor's classes through every class of its dependencies they reach ({@code -R}). */
    @Test
    void theRuntimeHoldsEveryModuleThatPanavisorAndItsLibrariesUse() throws Exception {
        Path classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
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
        Path forms = root.resolve(PROJECT.relativize(FORMS));
        Files.createDirectories(forms.getParent());
        Files.copy(FORMS, forms);

        Result first = bash("panavisor_runtime \"$1\"", root.toString());
        assertEquals(0, first.status(), first.err());
        Path runtime = root.resolve("target/runtime");
        assertEquals(runtime.toString(), first.out());
        assertTrue(first.err().contains("linking the Java runtime"), first.err());
        assertTrue(Files.isRegularFile(runtime.resolve(AotCache.LINKED_RUNTIME_STAMP)));
        String formsSum = bash("cksum < \"$1\"", forms.toString()).out().strip();
        assertTrue(Files.readString(runtime.resolve(AotCache.LINKED_RUNTIME_STAMP)).strip().endsWith(formsSum),
                "a changed list of lambda forms would not link again");
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

        List<String> probe = new ArrayList<>(List.of(runtime.resolve("bin/java").toString(),
                "-XX:NativeMemoryTracking=summary", "-cp", System.getProperty("java.class.path"),
                LinkedRuntimeProbe.class.getName(), dir.toString()));
        Process probed = new ProcessBuilder(probe).redirectErrorStream(true).start();
        String probeOutput = new String(probed.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, probed.waitFor(), probeOutput);
        assertTrue(probeOutput.contains("charts: " + dev.panavisor.compare.Charts.FILES.size()), probeOutput);
        assertTrue(probeOutput.matches("(?s).*jfr: [1-9][0-9]* bytes.*"), probeOutput);
        assertTrue(probeOutput.contains("JVM native memory tracking"), probeOutput);

        assertTheLinkAheadFindsItsLambdaFormsIn(runtime);

        Process jcmd = new ProcessBuilder(runtime.resolve("bin/jcmd").toString(), "-h").redirectErrorStream(true)
                .start(); // bench compare reads its idle JVMs' memory with it
        String jcmdOutput = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, jcmd.waitFor(), jcmdOutput);

        Result again = bash("panavisor_runtime \"$1\"", root.toString());
        assertEquals(runtime.toString(), again.out());
        assertEquals("", again.err(), "linked again");

        // Another module list: linked again; the old runtime's AOT caches go, as they would not map.
        Path cache = Files.writeString(root.resolve("target/panavisor-lab-jdk" + Runtime.version() + "-linked.aot"),
                "cache");
        Files.writeString(modules, Files.readString(modules).replace("\njava.sql\n", "\n"));
        Result relinked = bash("panavisor_runtime \"$1\"", root.toString());
        assertEquals(runtime.toString(), relinked.out(), relinked.err());
        assertTrue(relinked.err().contains("linking the Java runtime"), relinked.err());
        assertFalse(Files.exists(cache));
        assertFalse(Files.readString(runtime.resolve("release")).contains("java.sql"));
    }

    /**
     * The lambda forms and species a run's link-ahead looks up are all in runtime.lambda-forms, and the linked
     * runtime finds each one pregenerated in its archive, where the whole JDK (the control) generates some.
     */
    private void assertTheLinkAheadFindsItsLambdaFormsIn(Path runtime) throws Exception {
        Set<String> listed = new TreeSet<>(JavaCommand.parse(Files.readString(FORMS)));
        List<String> onTheJdk = lambdaFormLookups(JAVA_HOME);
        assertTrue(onTheJdk.stream().anyMatch(line -> line.endsWith("(fail)")), "the control found every form");
        List<String> onTheRuntime = lambdaFormLookups(runtime);
        for (String line : onTheRuntime) {
            assertTrue(line.endsWith("(success)") || line.endsWith("(salvaged)"), "not pregenerated: " + line);
        }
        for (String line : Stream.concat(onTheJdk.stream(), onTheRuntime.stream()).toList()) {
            String form = line.substring(0, line.lastIndexOf(" ("));
            assertTrue(listed.contains(form), "not in runtime.lambda-forms (tools/bench/lambda-forms.sh makes the "
                    + "list): " + form);
        }
    }

    /**
     * The [LF_RESOLVE] and [SPECIES_RESOLVE] lines of {@link LambdaFormProbe} run on {@code home}'s java with
     * Panavisor's JVM options, and {@code -Xshare:on}: a JVM that cannot map the runtime's archive (one dumped for
     * other object pointers, say) fails instead of running without it.
     */
    private static List<String> lambdaFormLookups(Path home) throws Exception {
        List<String> command = new ArrayList<>(List.of(home.resolve("bin/java").toString(), "-Xshare:on"));
        command.addAll(JavaCommand.sharedOptions());
        command.addAll(List.of("-Djava.lang.invoke.MethodHandle.TRACE_RESOLVE=true", "-cp",
                System.getProperty("java.class.path"), LambdaFormProbe.class.getName()));
        Process probe = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, probe.waitFor(), output);
        List<String> lookups = output.lines()
                .filter(line -> line.matches("\\[(LF|SPECIES)_RESOLVE\\] .* \\(\\w+\\)")).toList();
        assertTrue(lookups.size() > 10, output);
        return lookups;
    }

    /** A JDK without jlink: one line, once; the launcher runs on the JDK itself. */
    @Test
    void withoutJlinkPanavisorRunsOnTheJdkAndSaysSoOnce() throws Exception {
        Path jdk = Files.createDirectories(dir.resolve("jdk/bin"));
        Files.copy(JAVA_HOME.resolve("release"), jdk.resolveSibling("release"));
        Path root = dir.resolve("project");
        Files.createDirectories(root.resolve(PROJECT.relativize(MODULES)).getParent());
        Files.copy(MODULES, root.resolve(PROJECT.relativize(MODULES)));
        Files.createDirectories(root.resolve(PROJECT.relativize(FORMS)).getParent());
        Files.copy(FORMS, root.resolve(PROJECT.relativize(FORMS)));
        String script = "JAVA_HOME=" + jdk.getParent() + "; panavisor_runtime \"$1\"";
        Result first = bash(script, root.toString());
        assertEquals(jdk.getParent().toString(), first.out(), first.err());
        assertEquals(1, first.err().lines().count(), first.err());
        assertTrue(first.err().contains("cannot link a Java runtime"), first.err());
        Result second = bash(script, root.toString());
        assertEquals(jdk.getParent().toString(), second.out());
        assertEquals("", second.err());
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
