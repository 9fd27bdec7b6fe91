package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.ExitCleanupFixture;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The measurement's own failure paths stop what they started: an idle instance that never became ready gets its
 * container's removal as the others do, and a parallel batch whose first run fails stops the rest of the batch.
 * Stand-in containers: shell commands whose "removal" creates a file.
 */
class StoppedInstancesTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void an_idle_instance_that_never_became_ready_still_has_its_container_removed() {
        Path removed = dir.resolve("removed");
        Results.Settings settings = new Results.Settings(true, 1, 1, 2, 1L << 30, 60_000, 1, 1, 1, 1000, 256, 1);
        StringWriter progress = new StringWriter();
        IOException failure = assertThrows(IOException.class, () -> IdleInstances.measure(Peer.RUNC,
                (peer, kind, name, track) -> StartedInstanceTest.launch(
                        List.of("sh", "-c", "echo runtime failed; exit 1"), removed),
                settings, new PrintWriter(progress), "[1/1]", ExitCleanupFixture.withoutHook()));
        assertEquals("no idle instance started: an instance that did not become ready: runtime failed",
                failure.getMessage());
        assertTrue(Files.exists(removed), "runc delete -f (here: touch) ran for it");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_failed_run_in_a_parallel_batch_stops_the_rest_of_the_batch() {
        ExitCleanup cleanup = ExitCleanupFixture.withoutHook();
        List<StartedInstance> started = new ArrayList<>();
        CompareRun.Starter starter = k -> {
            List<String> command = k == 1 ? List.of("sh", "-c", "echo " + Workload.READY + "; exit 3")
                    : List.of("sleep", "1000000");
            StartedInstance instance = StartedInstance.start(StartedInstanceTest.launch(command,
                    dir.resolve("removed-" + k)), "parallel-" + k, cleanup, line -> { });
            started.add(instance);
            return instance;
        };
        try {
            IOException failure = assertThrows(IOException.class, () -> CompareRun.parallelBatch(Peer.HOST, 3,
                    starter, new ArrayList<>(), new ArrayList<>()));
            assertTrue(failure.getMessage().startsWith("a run of 'true' ended with status 3"), failure.getMessage());
            assertEquals(3, started.size());
            for (int k = 2; k <= 3; k++) {
                StartedInstance instance = started.get(k - 1);
                assertFalse(StartedInstanceTest.alive(instance.instance().pid()), "instance " + k + " was stopped");
                assertTrue(Files.exists(dir.resolve("removed-" + k)), "instance " + k + "'s container was removed");
            }
        } finally {
            started.forEach(s -> ProcessHandle.of(s.instance().pid()).ifPresent(ProcessHandle::destroyForcibly));
        }
    }
}
