package dev.panavisor.host;

import static dev.panavisor.host.ExitCleanupFixture.awaitProcesses;
import static dev.panavisor.host.ExitCleanupFixture.processesWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a benchmark leaves behind when it ends or is stopped: nothing. The hook's work in process; a stop for real
 * (SIGTERM to a child JVM) is in compare's StartedInstanceTest and cli's BenchBootTest, with their own owners.
 */
class ExitCleanupTest {
    @TempDir
    Path dir;

    @Test
    void the_stop_undoes_what_is_left_newest_first_and_leaves_what_owners_undid() throws Exception {
        ExitCleanup cleanup = ExitCleanup.withoutHook();
        List<String> undone = new ArrayList<>();
        cleanup.make(() -> "links", thing -> () -> undone.add(thing));
        String instance = cleanup.make(() -> "instance", thing -> () -> undone.add(thing));
        cleanup.make(() -> "later instance", thing -> () -> undone.add(thing));
        cleanup.forget(instance); // its owner stopped it itself
        cleanup.undoAll();
        assertEquals(List.of("later instance", "links"), undone);
        cleanup.close();
        assertEquals(List.of("later instance", "links"), undone, "each undone once");
    }

    @Test
    void once_the_stop_has_begun_nothing_new_is_made() throws Exception {
        ExitCleanup cleanup = ExitCleanup.withoutHook();
        cleanup.undoAll();
        List<String> made = new ArrayList<>();
        InterruptedException refused = assertThrows(InterruptedException.class,
                () -> cleanup.make(() -> made.add("instance"), thing -> () -> { }));
        assertEquals(List.of(), made, "the maker did not run");
        assertTrue(refused.getMessage().contains("this process is exiting"), refused.getMessage());
        assertTrue(refused.getMessage().startsWith("stopped: "), refused.getMessage());
        String marker = "600.3" + ProcessHandle.current().pid();
        assertThrows(InterruptedException.class, () -> cleanup.start(new ProcessBuilder("sleep", marker)));
        assertEquals(List.of(), processesWith(marker), "no process started");
        assertThrows(InterruptedException.class, cleanup::checkNotExiting, "no results from a run cut short");
        assertTrue(cleanup.exiting());
    }

    @Test
    void the_end_of_a_run_undoes_what_an_owner_left_and_deletes_its_directories() throws Exception {
        ExitCleanup cleanup = ExitCleanup.withoutHook();
        List<String> undone = new ArrayList<>();
        cleanup.make(() -> "forgotten", thing -> () -> undone.add(thing));
        Path temporary = cleanup.temporaryDirectory("pvcmp-test-");
        Files.writeString(temporary.resolve("file"), "x");
        cleanup.close();
        assertEquals(List.of("forgotten"), undone);
        assertFalse(Files.exists(temporary), "the temporary directory is gone");
        assertFalse(cleanup.exiting(), "a run that ended is not a stopped one");
    }

    @Test
    @Timeout(60)
    void closing_stops_the_processes_with_theirs_and_deletes_the_files() throws Exception {
        String marker = "600.1" + ProcessHandle.current().pid();
        Path work;
        Path log;
        Process process;
        try (ExitCleanup cleanup = ExitCleanup.install()) { // with its hook, removed again by close
            work = cleanup.temporaryDirectory("panavisor-test-");
            Files.writeString(work.resolve("disk.img"), "data");
            log = Files.writeString(cleanup.temporaryFile("panavisor-test-", ".log"), "output");
            process = cleanup.start(new ProcessBuilder("sh", "-c", "sleep " + marker + " & sleep " + marker));
            awaitProcesses(marker, 2);
        }
        assertFalse(process.isAlive());
        assertEquals(List.of(), processesWith(marker), "the child's own child too");
        assertFalse(Files.exists(work));
        assertFalse(Files.exists(log));
    }

    @Test
    void a_process_that_ended_is_left_alone_and_nothing_is_added_after_the_close() throws Exception {
        ExitCleanup cleanup = ExitCleanup.withoutHook();
        Process done = cleanup.start(new ProcessBuilder("true"));
        assertEquals(0, done.waitFor());
        cleanup.close();
        assertEquals(0, done.exitValue());
        // Nothing would undo what comes now: a bug in its owner, not a stop.
        List<String> made = new ArrayList<>();
        assertThrows(IllegalStateException.class, () -> cleanup.make(() -> made.add("late"), thing -> () -> { }));
        assertEquals(List.of(), made, "the maker did not run");
    }

    @Test
    void after_the_stop_a_path_its_owner_wrote_again_is_deleted_again() throws Exception {
        ExitCleanup cleanup = ExitCleanup.withoutHook();
        Path work = cleanup.temporaryDirectory("panavisor-test-");
        cleanup.undoAll();
        assertFalse(Files.exists(work), "the hook deleted it");
        // The main thread goes on while the hook runs: its owner writes the directory again, then runs the next VM.
        Files.writeString(Files.createDirectories(work).resolve("disk.img"), "data");
        InterruptedException stopping = assertThrows(InterruptedException.class,
                () -> cleanup.start(new ProcessBuilder("true")));
        assertTrue(stopping.getMessage().startsWith("stopped: "), stopping.getMessage());
        assertFalse(Files.exists(work), "deleted again when the next thing was refused");
        Files.createDirectories(work);
        cleanup.close();
        assertFalse(Files.exists(work), "and again by the close");
    }

    /**
     * A cleanup installed once the JVM's exit has begun (a run that starts as a signal arrives) can add no hook:
     * it refuses the first thing, and nothing is made that no hook would undo.
     */
    @Test
    @Timeout(60)
    void a_cleanup_installed_while_the_jvm_exits_refuses_the_first_thing() throws Exception {
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        List<String> command = List.of(ProcessHandle.current().info().command().orElseThrow(),
                "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"),
                LateInstallProbe.class.getName());
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines;
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            lines = reader.lines().toList();
        }
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child ended");
        assertEquals(List.of("refused: " + ExitCleanup.EXITING), lines);
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(), files.toList(), "no temporary directory made");
        }
    }

    /** A JVM whose own exit starts a run: a shutdown hook that installs a cleanup and makes a directory. */
    public static final class LateInstallProbe {
        public static void main(String[] args) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                ExitCleanup cleanup = ExitCleanup.install();
                try {
                    System.out.println("made " + cleanup.temporaryDirectory("panavisor-test-"));
                } catch (InterruptedException e) {
                    System.out.println("refused: " + e.getMessage());
                } catch (java.io.IOException e) {
                    System.out.println("failed: " + e);
                }
                System.out.flush();
            }));
        }
    }
}
