package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the benchmarks start and write is gone at their end, and after a termination signal part-way. */
class ShutdownCleanupTest {
    @TempDir
    Path dir;

    /** The processes whose command line has {@code word} as one of its arguments, by pid. */
    static List<Long> processesWith(String word) {
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
                .filter(p -> p.info().arguments().map(args -> List.of(args).contains(word)).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    @Test
    @Timeout(60)
    void closing_stops_the_processes_with_theirs_and_deletes_the_files() throws Exception {
        String marker = "600.1" + ProcessHandle.current().pid();
        Path work = Files.createDirectory(dir.resolve("work"));
        Files.writeString(work.resolve("disk.img"), "data");
        Path log = Files.writeString(dir.resolve("run.log"), "output");
        Process process;
        try (ShutdownCleanup cleanup = new ShutdownCleanup()) {
            cleanup.deleteLater(work);
            cleanup.deleteLater(log);
            process = cleanup.stopLater(new ProcessBuilder("sh", "-c", "sleep " + marker + " & sleep " + marker)
                    .start());
            awaitProcesses(marker, 2);
        }
        assertFalse(process.isAlive());
        assertEquals(List.of(), processesWith(marker), "the child's own child too");
        assertFalse(Files.exists(work));
        assertFalse(Files.exists(log));
    }

    @Test
    void a_process_that_ended_is_left_alone_and_nothing_is_added_after_the_clean_up() throws Exception {
        Process done = new ProcessBuilder("true").start();
        assertEquals(0, done.waitFor());
        ShutdownCleanup cleanup = new ShutdownCleanup();
        cleanup.stopLater(done);
        cleanup.close();
        assertEquals(0, done.exitValue());
        // The JVM's shutdown (or close) has cleaned up: what comes after is not kept for a clean-up that is over.
        Path late = Files.writeString(dir.resolve("late.log"), "x");
        CommandFailedException stopping = assertThrows(CommandFailedException.class, () -> cleanup.deleteLater(late));
        assertTrue(stopping.getMessage().startsWith("stopped: "), stopping.getMessage());
        assertFalse(Files.exists(late));
    }

    /**
     * SIGTERM to a JVM in the middle of a timed VMM run ({@code bench boot}'s and {@code bench io}'s), with a work
     * directory as bench io's disk image has: the run and what it started end, the output file and the directory
     * are deleted, before the JVM ends.
     */
    @Test
    @Timeout(120)
    void a_termination_signal_part_way_leaves_no_process_and_no_file() throws Exception {
        String marker = "600.2" + ProcessHandle.current().pid();
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"), TimedRunProbe.class.getName(),
                marker));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(line);
                if (line.equals("running")) {
                    awaitProcesses(marker, 2);
                    try (Stream<Path> files = Files.list(tmp)) {
                        assertEquals(2, files.count(), "the work directory and the run's output file");
                    }
                    child.toHandle().destroy(); // SIGTERM (Process.destroy would close its output too)
                }
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not end");
        assertEquals(143, child.exitValue(), "SIGTERM's status: " + lines);
        assertEquals(List.of(), processesWith(marker), "the VMM and what it started are gone: " + lines);
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(), files.toList(), "nothing left in the temporary directory: " + lines);
        }
    }

    private static void awaitProcesses(String marker, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (processesWith(marker).size() < count) {
            assertTrue(System.nanoTime() < deadline, "the processes did not start");
            Thread.sleep(20);
        }
    }

    /** A benchmark part-way: a work directory as bench io's, and a timed run (a shell and its child, sleeping). */
    public static final class TimedRunProbe {
        public static void main(String[] args) throws Exception {
            String marker = args[0];
            try (ShutdownCleanup cleanup = new ShutdownCleanup()) {
                Path work = cleanup.deleteLater(Files.createTempDirectory("panavisor-bench-io-disk-"));
                Files.writeString(work.resolve("disk.img"), "data");
                System.out.println("running");
                BenchBootCommand.time(List.of("sh", "-c", "sleep " + marker + " & sleep " + marker), 0,
                        Duration.ofMinutes(10));
            }
        }
    }
}
