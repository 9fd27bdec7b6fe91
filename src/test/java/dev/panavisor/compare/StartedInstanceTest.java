package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.ExitCleanupFixture;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What bench compare leaves behind of its instances when it is stopped: nothing. Each instance's own stop, and once
 * for real a child JVM sent SIGTERM with an idle instance and a temporary directory in its {@link ExitCleanup}.
 */
class StartedInstanceTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_killed_container_is_removed_and_one_that_ended_by_itself_is_not() throws Exception {
        ExitCleanup cleanup = ExitCleanupFixture.withoutHook();
        List<String> warnings = new ArrayList<>();
        Path idleRemoved = dir.resolve("idle-removed");
        Path doneRemoved = dir.resolve("done-removed");
        Path failedRemoved = dir.resolve("failed-removed");
        StartedInstance idle = StartedInstance.start(launch(List.of("sleep", "1000000"), idleRemoved), "idle",
                cleanup, warnings::add);
        StartedInstance done = StartedInstance.start(launch(List.of("true"), doneRemoved), "done", cleanup,
                warnings::add);
        StartedInstance failed = StartedInstance.start(launch(List.of("sh", "-c", "exit 3"), failedRemoved),
                "failed", cleanup, warnings::add);
        assertEquals(0, done.instance().awaitExit(Duration.ofSeconds(20)));
        assertEquals(3, failed.instance().awaitExit(Duration.ofSeconds(20)));
        for (StartedInstance instance : List.of(idle, done, failed)) {
            instance.close();
        }
        assertFalse(alive(idle.instance().pid()), "the idle instance was killed");
        assertTrue(Files.exists(idleRemoved), "a killed runtime's container is removed");
        assertFalse(Files.exists(doneRemoved), "a runtime that ended with 0 removed its container itself");
        assertTrue(Files.exists(failedRemoved), "one that failed may have left it");
        assertEquals(List.of(), warnings);
    }

    /** A stand-in container: {@code command}, whose runtime removal creates {@code removed}. */
    static Launcher.Launch launch(List<String> command, Path removed) {
        return new Launcher.Launch(command, Workload.READY, null, List.of("touch", removed.toString()));
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sigterm_mid_run_kills_the_idle_instance_removes_its_container_and_the_temporary_directory()
            throws Exception {
        Path removed = dir.resolve("container-removed");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), StoppedRunProbe.class.getName(), removed.toString());
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        long idle = -1;
        Path temporary = null;
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                lines.add(line);
                if (line.startsWith("ready ")) {
                    String[] words = line.split(" ");
                    idle = Long.parseLong(words[1]);
                    temporary = Path.of(words[2]);
                    assertTrue(alive(idle) && Files.isDirectory(temporary), line);
                    child.toHandle().destroy(); // SIGTERM (Process.destroy would close the output we read)
                }
            }
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child ended");
            assertEquals(143, child.exitValue(), "SIGTERM's status: " + lines);
            assertFalse(alive(idle), "the idle instance is gone: " + lines);
            assertTrue(Files.exists(removed), "its container's removal ran: " + lines);
            assertFalse(Files.exists(temporary), "the temporary directory is gone: " + lines);
        } finally {
            child.destroyForcibly();
            ProcessHandle.of(idle).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /** A bench compare stand-in, stopped part way: an idle instance and a temporary directory, then a wait. */
    public static final class StoppedRunProbe {
        public static void main(String[] args) throws Exception {
            ExitCleanup cleanup = ExitCleanup.install();
            Path temporary = cleanup.temporaryDirectory("pvcmp-test-");
            Files.writeString(temporary.resolve("disk.img"), "x");
            StartedInstance idle = StartedInstance.start(launch(List.of("sleep", "1000000"), Path.of(args[0])),
                    "idle", cleanup, System.out::println);
            System.out.println("ready " + idle.instance().pid() + " " + temporary);
            Thread.sleep(60_000);
        }
    }
}
