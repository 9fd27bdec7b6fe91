package dev.panavisor.cli;

import dev.panavisor.host.FileTree;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What a benchmark started or wrote, gone when it is done, also when a termination signal (Ctrl-C, SIGTERM) ends the
 * JVM part-way: the VMM processes with everything they started (serve's standby VM process), and the temporary
 * files and directories (bench io's disk image can be GiBs). Done as the lab's session does it (Lab's Session):
 * a JVM shutdown hook while this is open, removed by {@link #close()}, which does the same work itself.
 *
 * <p>The children are not started under {@code setpriv --pdeathsig KILL} as the lab's QEMU is: that would put a
 * second program into every measured command (QEMU's boot time is its process's wall time), and a SIGKILL of this
 * JVM is the one case the hook cannot cover.
 */
final class ShutdownCleanup implements AutoCloseable {
    /** How long a stopped process gets to end on SIGTERM (Panavisor's run stops its VM) before SIGKILL. */
    static final Duration GRACE = Duration.ofSeconds(3);

    private final Thread hook = Thread.ofPlatform().name("bench-cleanup").unstarted(this::cleanUp);
    private final List<Process> processes = new ArrayList<>();
    /** Kept after a clean-up: a path deleted while its owner was about to write it again is deleted again. */
    private final List<Path> paths = new ArrayList<>();
    /** Set by the clean-up: from then on nothing new may stay. */
    private boolean done;

    /** @throws CommandFailedException when the JVM is shutting down already: nothing new is started then */
    ShutdownCleanup() {
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException e) {
            throw stopping();
        }
    }

    /**
     * {@code process} and its descendants are stopped when this closes or the JVM shuts down.
     *
     * @throws CommandFailedException when the JVM's shutdown has cleaned up already: the process is stopped at once,
     *         and any file it may have made again in the meantime deleted
     */
    Process stopLater(Process process) {
        synchronized (this) {
            if (!done) {
                processes.add(process);
                return process;
            }
        }
        stop(process);
        deleteAll();
        throw stopping();
    }

    /**
     * {@code path} (a file, or a directory with everything in it) is deleted when this closes or the JVM ends.
     *
     * @throws CommandFailedException when the JVM's shutdown has cleaned up already: the path is deleted at once
     */
    Path deleteLater(Path path) {
        synchronized (this) {
            paths.add(path);
            if (!done) {
                return path;
            }
        }
        deleteAll();
        throw stopping();
    }

    private static CommandFailedException stopping() {
        return new CommandFailedException("stopped: the JVM is shutting down (a termination signal)");
    }

    /** Stops what is still running and deletes the files; the JVM's shutdown has nothing left to do. */
    @Override
    public void close() {
        cleanUp();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // The JVM is shutting down: the hook runs, or has run, the same clean-up.
        }
    }

    private void cleanUp() {
        List<Process> running;
        synchronized (this) {
            done = true;
            running = processes.stream().filter(Process::isAlive).toList();
            processes.clear();
        }
        if (!running.isEmpty()) {
            stop(running);
        }
        // After the processes: a VMM still running would hold its disk image open and keep writing its log.
        deleteAll();
    }

    private void deleteAll() {
        List<Path> deleting;
        synchronized (this) {
            deleting = List.copyOf(paths);
        }
        deleting.forEach(FileTree::deleteQuietly);
    }

    /** Stops {@code process} and its descendants: SIGTERM, then SIGKILL for any still there after {@link #GRACE}. */
    static void stop(Process process) {
        stop(List.of(process));
    }

    private static void stop(List<Process> roots) {
        // Listed before the first signal: a descendant whose parent has died is no longer anyone's descendant.
        List<ProcessHandle> tree = new ArrayList<>();
        for (Process root : roots) {
            root.descendants().forEach(tree::add);
            tree.add(root.toHandle());
        }
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + GRACE.toNanos();
        for (ProcessHandle process : tree) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    process.onExit().get(left, TimeUnit.NANOSECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                break; // the grace is over: SIGKILL below
            }
        }
        for (ProcessHandle process : tree) {
            process.descendants().forEach(ProcessHandle::destroyForcibly); // started during the grace
            process.destroyForcibly();
        }
        for (Process root : roots) {
            try {
                root.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS); // reaped, its pipes closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
