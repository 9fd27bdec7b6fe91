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
        Path bin = fakeMaven(log, "sleep 2; mkdir -p target/lib; touch target/panavisor.jar", 0);
        Process first = buildJar(root, bin);
        waitFor(() -> Files.exists(log), "the first launcher's Maven");
        Process second = buildJar(root, bin);
        Result secondResult = Result.of(second);
        Result firstResult = Result.of(first);
        assertEquals(0, firstResult.status(), firstResult.err());
        assertEquals(0, secondResult.status(), secondResult.err());
        assertEquals(List.of("mvn -q -B -DskipTests package"), Files.readAllLines(log), "Maven runs once");
        assertTrue(firstResult.err().contains("building " + root.resolve("target/panavisor.jar")), firstResult.err());
        assertEquals("panavisor: waiting for another launcher that is building " + root.resolve("target/panavisor.jar")
                + "...\n", secondResult.err());

        Result third = Result.of(buildJar(root, bin));
        assertEquals(new Result(0, ""), third, "a built jar is not built again");
    }

    @Test
    void a_failed_build_is_one_line_and_a_failure() throws Exception {
        Path root = staleProject();
        Path bin = fakeMaven(dir.resolve("mvn.log"), "echo '[ERROR] COMPILATION ERROR'", 1);
        Result result = Result.of(buildJar(root, bin));
        assertEquals(1, result.status());
        assertTrue(result.err().endsWith("panavisor: build failed; see " + root.resolve("target-build.log") + "\n"),
                result.err());
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

    private Process buildJar(Path root, Path bin) throws IOException {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c",
                "set -euo pipefail; . '" + LAUNCHER + "'; panavisor_build_jar \"$1\"", "bash", root.toString());
        builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return builder.start();
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, String what) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!condition.getAsBoolean()) {
            assertTrue(Instant.now().isBefore(deadline), what + " did not start within 30 s");
            Thread.sleep(20);
        }
    }

    private record Result(int status, String err) {
        static Result of(Process process) throws Exception {
            process.getOutputStream().close();
            String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Result(process.waitFor(), err);
        }
    }
}
