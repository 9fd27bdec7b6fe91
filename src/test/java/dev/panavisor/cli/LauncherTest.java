package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code ./panavisor} does before the JVM starts (tools/lib/launcher.sh): closed standard descriptors are
 * opened on /dev/null against their use, and two launchers never build the jar at once.
 */
class LauncherTest {
    private static final Path LAUNCHER = Path.of("tools/lib/launcher.sh").toAbsolutePath();
    private static final int ACCESS_MODE = 3; // O_ACCMODE
    private static final int WRITE_ONLY = 1;

    @TempDir
    Path dir;

    /** One descriptor as the shell left it: where it points and its access mode. */
    private record Descriptor(String target, int accessMode) {
    }

    /**
     * {@code run --exec CMD <&- >&- 2>&-}: each closed descriptor is /dev/null the wrong way round, so a read of
     * stdin and a write of stdout fail (EBADF) instead of reaching a file the JVM opened on that number.
     */
    @Test
    void closed_standard_descriptors_are_opened_on_dev_null_against_their_use() throws Exception {
        Path report = dir.resolve("report");
        List<Descriptor> fds = descriptorsAfter("exec <&- >&- 2>&-", report);
        assertEquals(new Descriptor("/dev/null", WRITE_ONLY), fds.get(0), "stdin");
        assertEquals(new Descriptor("/dev/null", 0), fds.get(1), "stdout");
        assertEquals(new Descriptor("/dev/null", 0), fds.get(2), "stderr");
        List<String> lines = Files.readAllLines(report);
        assertEquals("read status 1, 0 bytes", lines.get(3), "a read of stdin fails and reads nothing");
    }

    @Test
    void open_standard_descriptors_are_left_alone() throws Exception {
        Path input = Files.writeString(dir.resolve("input"), "guest input\n");
        Path output = dir.resolve("output");
        Path report = dir.resolve("report");
        List<Descriptor> fds = descriptorsAfter("exec <'" + input + "' >'" + output + "' 2>&1", report);
        assertEquals(new Descriptor(input.toString(), 0), fds.get(0));
        assertEquals(new Descriptor(output.toString(), WRITE_ONLY), fds.get(1));
        assertEquals(new Descriptor(output.toString(), WRITE_ONLY), fds.get(2));
        assertEquals("read status 0, 12 bytes", Files.readAllLines(report).get(3));
    }

    /** Two launchers after a source change: one runs Maven, the other says it waits and then finds the jar. */
    @Test
    void two_launchers_build_the_jar_once() throws Exception {
        Path root = staleProject();
        Path log = dir.resolve("mvn.log");
        Path release = dir.resolve("release");
        // The fake Maven runs until the test has seen the second launcher wait.
        Path bin = fakeMaven(log, "while [ ! -e '" + release + "' ]; do sleep 0.05; done; mkdir -p target/lib; "
                + "touch target/panavisor.jar", 0);
        Path firstErr = dir.resolve("first.err");
        Path secondErr = dir.resolve("second.err");
        Process first = buildJar(root, bin, firstErr);
        waitFor(() -> Files.exists(log), "the first launcher's Maven");
        Process second = buildJar(root, bin, secondErr);
        waitFor(() -> read(secondErr).contains("waiting"), "the second launcher's line");
        Files.writeString(release, "");
        assertEquals(0, first.waitFor(), read(firstErr));
        assertEquals(0, second.waitFor(), read(secondErr));
        assertEquals(List.of("mvn -q -B -DskipTests package"), Files.readAllLines(log), "Maven runs once");
        assertTrue(read(firstErr).contains("building " + root.resolve("target/panavisor.jar")), read(firstErr));
        assertEquals("panavisor: waiting for another launcher that is building " + root.resolve("target/panavisor.jar")
                + "...\n", read(secondErr));

        Path thirdErr = dir.resolve("third.err");
        assertEquals(0, buildJar(root, bin, thirdErr).waitFor());
        assertEquals("", read(thirdErr), "a built jar is not built again");
    }

    /**
     * A jar whose date says fresh while another launcher holds the build lock may be half-written by its Maven:
     * the launcher waits for the lock, then runs Java on the finished jar, building nothing itself.
     */
    @Test
    void a_fresh_jar_is_not_used_while_another_launcher_builds_it() throws Exception {
        Path root = staleProject();
        Files.createDirectories(root.resolve("target/lib"));
        Files.setLastModifiedTime(root.resolve("pom.xml"), java.nio.file.attribute.FileTime.fromMillis(0));
        Files.writeString(root.resolve("target/panavisor.jar"), "half");
        Path log = dir.resolve("mvn.log");
        Path bin = fakeMaven(log, "exit 1", 1);
        Path release = dir.resolve("release");
        Process holder = new ProcessBuilder("flock", root.resolve("target/build.lock").toString(), "sh", "-c",
                "touch '" + dir.resolve("held") + "'; while [ ! -e '" + release + "' ]; do sleep 0.05; done").start();
        try {
            waitFor(() -> Files.exists(dir.resolve("held")), "the other launcher's lock");
            Path err = dir.resolve("err");
            Process launcher = buildJar(root, bin, err);
            waitFor(() -> read(err).contains("waiting"), "the launcher's line");
            assertTrue(launcher.isAlive(), "the launcher waits for the lock");
            Files.writeString(release, "");
            assertEquals(0, launcher.waitFor(), read(err));
            assertEquals("panavisor: waiting for another launcher that is building "
                    + root.resolve("target/panavisor.jar") + "...\n", read(err));
            assertTrue(Files.notExists(log), "nothing built: the jar was another launcher's to finish");
        } finally {
            Files.writeString(release, "");
            holder.waitFor();
        }
    }

    /** Under `set -e`, a line for a stderr the caller closed must not end the launcher (it used to: echo failed). */
    @Test
    void a_closed_stderr_does_not_end_the_launcher() throws Exception {
        Path survived = dir.resolve("survived");
        Process bash = new ProcessBuilder("bash", "-c", "set -euo pipefail; exec 2>&-; . '" + LAUNCHER + "'; "
                + "panavisor_standard_fds; panavisor_say 'panavisor: a line nobody sees'; touch \"$1\"", "bash",
                survived.toString()).start();
        assertEquals(0, bash.waitFor());
        assertTrue(Files.exists(survived));
    }

    @Test
    void a_failed_build_is_one_line_and_a_failure() throws Exception {
        Path root = staleProject();
        Path bin = fakeMaven(dir.resolve("mvn.log"), "echo '[ERROR] COMPILATION ERROR'", 1);
        Path err = dir.resolve("err");
        assertEquals(1, buildJar(root, bin, err).waitFor());
        assertTrue(read(err).endsWith("panavisor: build failed; see " + root.resolve("target-build.log") + "\n"),
                read(err));
        assertTrue(Files.readString(root.resolve("target-build.log")).contains("COMPILATION ERROR"));
    }

    /** Runs {@code prelude}, then the launcher's function, and reads back descriptors 0-2 and one read of stdin. */
    private List<Descriptor> descriptorsAfter(String prelude, Path report) throws Exception {
        String script = prelude + "; . '" + LAUNCHER + "'; panavisor_standard_fds; "
                + "for fd in 0 1 2; do printf '%s %s\\n' \"$(readlink /proc/$$/fd/$fd)\" "
                + "\"$(sed -n 's/^flags:[[:space:]]*//p' /proc/$$/fdinfo/$fd)\" >> \"$1\"; done; "
                + "head -c 100 > \"$1.in\" 2>/dev/null; status=$?; "
                + "echo \"read status $status, $(wc -c < \"$1.in\") bytes\" >> \"$1\"";
        Process bash = new ProcessBuilder("bash", "-c", script, "bash", report.toString()).start();
        assertEquals(0, bash.waitFor(), new String(bash.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        List<Descriptor> fds = new ArrayList<>();
        for (String line : Files.readAllLines(report).subList(0, 3)) {
            int space = line.lastIndexOf(' ');
            fds.add(new Descriptor(line.substring(0, space),
                    Integer.parseInt(line.substring(space + 1), 8) & ACCESS_MODE));
        }
        return fds;
    }

    /** A project whose jar was never built: the launcher has to run Maven. */
    private Path staleProject() throws IOException {
        Path root = dir.resolve("project");
        Files.createDirectories(root.resolve("src/main"));
        Files.createDirectories(root.resolve("guest-images"));
        Files.writeString(root.resolve("pom.xml"), "<project/>\n");
        return root;
    }

    /** A directory holding an {@code mvn} that logs its arguments, runs {@code body} and exits with {@code status}. */
    private Path fakeMaven(Path log, String body, int status) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path mvn = Files.writeString(bin.resolve("mvn"), "#!/bin/bash\necho \"mvn $*\" >> '" + log + "'\n" + body
                + "\nexit " + status + "\n");
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    private Process buildJar(Path root, Path bin, Path err) throws IOException {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c",
                "set -euo pipefail; . '" + LAUNCHER + "'; panavisor_build_jar \"$1\"", "bash", root.toString());
        builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return builder.start();
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, String what) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!condition.getAsBoolean()) {
            assertTrue(Instant.now().isBefore(deadline), what + " did not start within 30 s");
            Thread.sleep(20);
        }
    }
}
