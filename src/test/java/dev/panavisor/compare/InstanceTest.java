package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceTest {
    @TempDir
    Path dir;

    @Test
    void a_marker_file_times_readiness_even_when_only_the_end_is_awaited() throws Exception {
        Path marker = dir.resolve("marker");
        Instance instance = Instance.start(List.of("sh", "-c", "sleep 0.3; echo '{' > " + marker + "; sleep 1"),
                null, marker);
        assertEquals(0, instance.awaitExit(Duration.ofSeconds(20)));
        assertTrue(instance.readyMillis() >= 250 && instance.readyMillis() < instance.endMillis() - 500,
                "ready " + instance.readyMillis() + " ms, end " + instance.endMillis() + " ms");
    }

    @Test
    void a_ready_line_is_timed_as_it_arrives() throws Exception {
        Instance instance = Instance.start(List.of("sh", "-c", "echo cmp-ready; sleep 1"), Workload.READY, null);
        assertTrue(instance.awaitReady(Duration.ofSeconds(20)));
        assertEquals(0, instance.awaitExit(Duration.ofSeconds(20)));
        assertTrue(instance.readyMillis() < instance.endMillis() - 500);
        assertTrue(instance.output().contains("cmp-ready"));
    }
}
