package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stand-in peers wait for "go" files the test creates, so each step (marker written, process ended) happens
 * when the test says, after it has seen what it checks: the order is forced, not left to sleeps.
 */
class InstanceTest {
    @TempDir
    Path dir;

    /** A shell loop that holds the script until {@code file} exists. */
    private static String waitFor(Path file) {
        return "while [ ! -e " + file + " ]; do sleep 0.01; done; ";
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_marker_file_times_readiness_even_when_only_the_end_is_awaited() throws Exception {
        Path marker = dir.resolve("marker");
        Path writeMarker = dir.resolve("write-marker");
        Path end = dir.resolve("end");
        try (Instance instance = Instance.start(List.of("sh", "-c",
                waitFor(writeMarker) + "echo '{' > " + marker + "; " + waitFor(end)), null, marker)) {
            assertTrue(Double.isNaN(instance.readyMillis()), "no marker yet, so not ready");
            Files.createFile(writeMarker);
            // Nobody calls awaitReady: only the instance's own watcher can see the marker while the process runs.
            while (Double.isNaN(instance.readyMillis())) {
                Thread.sleep(5);
            }
            double ready = instance.readyMillis();
            assertTrue(ProcessHandle.of(instance.pid()).map(ProcessHandle::isAlive).orElse(false),
                    "readiness was seen while the process still ran (it waits for the end file)");
            Files.createFile(end);
            assertEquals(0, instance.awaitExit(Duration.ofSeconds(20)));
            assertEquals(ready, instance.readyMillis(), "the end does not time readiness again");
            assertTrue(ready < instance.endMillis(), "ready " + ready + " ms, end " + instance.endMillis() + " ms");
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_ready_line_is_timed_as_it_arrives() throws Exception {
        Path end = dir.resolve("end");
        try (Instance instance = Instance.start(List.of("sh", "-c", "echo cmp-ready; " + waitFor(end)),
                Workload.READY, null)) {
            // The process cannot end before the end file exists, so readiness here came from the line itself.
            assertTrue(instance.awaitReady(Duration.ofSeconds(20)), instance.output());
            assertTrue(ProcessHandle.of(instance.pid()).map(ProcessHandle::isAlive).orElse(false),
                    "ready while the process still ran");
            double ready = instance.readyMillis();
            Files.createFile(end);
            assertEquals(0, instance.awaitExit(Duration.ofSeconds(20)));
            assertEquals(ready, instance.readyMillis());
            assertTrue(ready < instance.endMillis(), "ready " + ready + " ms, end " + instance.endMillis() + " ms");
            assertTrue(instance.output().contains("cmp-ready"), instance.output());
        }
    }
}
