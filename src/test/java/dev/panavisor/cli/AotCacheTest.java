package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AotCacheTest {
    @TempDir
    Path dir;

    @Test
    void aCacheIsFreshOnlyWhenNotOlderThanTheJar() throws IOException {
        Path jar = Files.writeString(dir.resolve("panavisor.jar"), "jar");
        AotCache cache = AotCache.forJar(jar, true);
        assertTrue(cache.file().getFileName().toString().startsWith("panavisor-lab-jdk" + Runtime.version()));
        assertEquals(AotCache.State.MISSING, cache.state());
        Files.writeString(cache.file(), "cache");
        Files.setLastModifiedTime(jar, FileTime.fromMillis(1_000_000));
        Files.setLastModifiedTime(cache.file(), FileTime.fromMillis(2_000_000));
        assertEquals(AotCache.State.FRESH, cache.state());
        Files.setLastModifiedTime(jar, FileTime.fromMillis(3_000_000)); // the jar was rebuilt
        assertEquals(AotCache.State.STALE, cache.state());
    }

    @Test
    void aStaleCacheIsNotUsedAndSaysSoInOneLineThenARecordingReplacesIt() throws IOException {
        Path jar = Files.writeString(dir.resolve("panavisor.jar"), "jar");
        AotCache cache = AotCache.forJar(jar, false);
        Files.writeString(cache.file(), "old");
        Files.setLastModifiedTime(cache.file(), FileTime.fromMillis(1_000_000));
        StringWriter err = new StringWriter();
        AotCache.Recording recording = cache.optionsFor(true, new PrintWriter(err, true));
        assertEquals(1, err.toString().lines().count(), err.toString());
        assertTrue(err.toString().contains("is older than the jar: not used; this run records a new one (without the system-call filter)"));
        assertTrue(recording.recording());
        assertEquals(List.of("-XX:AOTCacheOutput=" + recording.temporary(), "-Xlog:aot*=error:stderr"),
                recording.options(), "the recording's ~200 'Skipping ...' warnings stay out of the user's stderr");
        assertEquals(List.of("--no-seccomp"), recording.runOptions(), "the JVM starts a child to write the cache");
        // The JVM writes the recording when it exits; finish() then puts it in place.
        Files.writeString(recording.temporary(), "new");
        assertTrue(recording.finish());
        assertEquals("new", Files.readString(cache.file()));
        assertFalse(Files.exists(recording.temporary()));
        assertEquals(List.of("-XX:AOTCache=" + cache.file()),
                cache.optionsFor(true, new PrintWriter(new StringWriter())).options());
    }

    @Test
    void aRunThatLeftNoRecordingLeavesNoCache() throws IOException {
        Path jar = Files.writeString(dir.resolve("panavisor.jar"), "jar");
        AotCache cache = AotCache.forJar(jar, true);
        AotCache.Recording recording = cache.optionsFor(true, new PrintWriter(new StringWriter()));
        assertFalse(recording.finish());
        assertEquals(AotCache.State.MISSING, cache.state());
        assertTrue(cache.optionsFor(false, new PrintWriter(new StringWriter())).options().isEmpty());
    }

    /**
     * The real JVM: a cache recorded with Panavisor's shared options is mapped by a JVM started with them (its
     * classes come from the "shared objects file"), and once the jar is newer the cache is left out.
     */
    @Test
    void theJvmLoadsPanavisorFromARecordedCache() throws Exception {
        Path jar = UserJvm.jar(dir);
        AotCache cache = AotCache.forJar(jar, false);
        AotCache.Recording recording = cache.optionsFor(true, new PrintWriter(new StringWriter()));
        Result training = java(jar, recording.options(), "--version");
        assertEquals(0, training.status(), training.output());
        assertTrue(recording.finish(), training.output());

        AotCache.Recording use = cache.optionsFor(true, new PrintWriter(new StringWriter()));
        assertFalse(use.recording());
        List<String> options = new ArrayList<>(use.options());
        options.add("-Xlog:class+load=info");
        Result used = java(jar, options, "--version");
        assertEquals(0, used.status(), used.output());
        assertTrue(used.output().contains("dev.panavisor.cli.Main source: shared objects file"), used.output());
        assertFalse(used.output().contains("[error]"), used.output());

        Files.setLastModifiedTime(jar, FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        StringWriter err = new StringWriter();
        AotCache.Recording stale = cache.optionsFor(false, new PrintWriter(err, true));
        assertTrue(stale.options().isEmpty());
        assertEquals(1, err.toString().lines().count(), err.toString());
    }

    /**
     * The lab's cache leaves the training run's method profiles out (Lab.AOT_RECORDING_OPTIONS): a JVM that maps
     * it still loads Panavisor's classes from it, but has no recorded compilation whose dependencies it must count
     * down as classes initialize ("init_deps_left" in -Xlog:training*=trace), while a JVM mapping a cache recorded
     * with the JDK's defaults (this host's) has thousands of such steps.
     */
    @Test
    void theLabsCacheHoldsTheClassesButNoMethodProfiles() throws Exception {
        Path jar = UserJvm.jar(dir);
        for (boolean lab : new boolean[] {true, false}) {
            AotCache cache = AotCache.forJar(jar, lab);
            AotCache.Recording recording = cache.optionsFor(true, new PrintWriter(new StringWriter()));
            assertEquals(lab, recording.options().contains("-XX:-AOTRecordTraining"), recording.options().toString());
            Result training = java(jar, recording.options(), "--version");
            assertEquals(0, training.status(), training.output());
            assertTrue(recording.finish(), training.output());

            List<String> options = new ArrayList<>(cache.useOptions());
            options.add("-Xlog:class+load=info,training*=trace");
            Result used = java(jar, options, "--version");
            assertEquals(0, used.status(), used.output());
            assertTrue(used.output().contains("dev.panavisor.cli.Main source: shared objects file"), used.output());
            long countdowns = used.output().lines().filter(line -> line.contains("init_deps_left")).count();
            assertTrue(lab ? countdowns == 0 : countdowns > 1000, (lab ? "lab" : "host") + " cache: " + countdowns
                    + " countdowns; "
                    + used.output().lines().filter(line -> line.contains("training")).limit(5).toList());
        }
    }

    record Result(int status, String output) {
    }

    private static Result java(Path jar, List<String> extra, String... args) throws Exception {
        List<String> command = new ArrayList<>(UserJvm.java(false));
        command.addAll(extra);
        command.add("-jar");
        command.add(jar.toString());
        command.addAll(Arrays.asList(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(process.waitFor(), output);
    }
}
