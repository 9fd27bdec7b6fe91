package dev.panavisor.host;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Stopping a process with everything it started: a VMM with the standby VM process serve forks, a shell with its
 * background children, a container runtime with its container. Killing only the process would leave its children
 * running under init, where nobody stops them. Quiet, and safe to call from a shutdown hook and more than once.
 */
public final class ProcessTree {
    /** How long a stopped process gets to end on SIGTERM (Panavisor's run stops its VM) before SIGKILL. */
    public static final Duration GRACE = Duration.ofSeconds(3);
    /**
     * How long a root is then waited for, to be reaped with its pipes closed; bounded, so that a process stuck in
     * the kernel cannot hold its caller (or the JVM's exit) for ever.
     */
    private static final Duration REAP = Duration.ofSeconds(10);

    private ProcessTree() {
    }

    /** Stops {@code root} and its descendants: SIGTERM, then SIGKILL for any still there after {@link #GRACE}. */
    public static void stop(Process root) {
        stop(List.of(root), GRACE);
    }

    /**
     * SIGKILL for {@code root} and its descendants at once: for measured instances, where a grace would only add
     * its wait between measurements, and a killed container runtime is cleaned up after by its removal command.
     */
    public static void kill(Process root) {
        stop(List.of(root), Duration.ZERO);
    }

    /**
     * Stops {@code roots} and their descendants together: SIGTERM to all, one {@code grace} for all, then SIGKILL
     * for what is left (straight away when {@code grace} is zero).
     */
    public static void stop(List<Process> roots, Duration grace) {
        // Listed before the first signal: a descendant whose parent has died is no longer anyone's descendant. A
        // root that has ended is skipped: its children went to init, and its pid may be another process's by now.
        List<ProcessHandle> tree = new ArrayList<>();
        List<Process> alive = roots.stream().filter(Process::isAlive).toList();
        for (Process root : alive) {
            root.descendants().forEach(tree::add);
            tree.add(root.toHandle());
        }
        if (!grace.isZero()) {
            tree.forEach(ProcessHandle::destroy);
            awaitAll(tree, grace);
        }
        for (ProcessHandle process : tree) {
            process.descendants().forEach(ProcessHandle::destroyForcibly); // started during the grace
            process.destroyForcibly();
        }
        for (Process root : alive) {
            try {
                root.waitFor(REAP.toMillis(), TimeUnit.MILLISECONDS); // reaped, its pipes closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        awaitAll(tree, REAP); // and the descendants gone too, when this returns (or after REAP at most)
    }

    private static void awaitAll(List<ProcessHandle> tree, Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle process : tree) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    process.onExit().get(left, TimeUnit.NANOSECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return; // SIGKILL now: an interrupted caller must not leave them running
            } catch (ExecutionException | TimeoutException e) {
                return; // the grace is over
            }
        }
    }
}
