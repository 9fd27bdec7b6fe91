package dev.panavisor.vmm;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Ends a VM that has stopped making progress instead of letting it hang: when no VM exit reaches the VMM for a
 * whole {@code limit} (console output is made of exits too, so this also means "nothing printed"), it reports the
 * stall once and stops watching.
 *
 * <p>Why exits: they are the only sign of guest progress the VMM sees without asking the guest. A healthy Linux
 * guest that is busy makes some (console, disk, its init's marker), but one that idles in HLT makes none: KVM's
 * in-kernel irqchip and timer serve an idle guest without leaving the kernel. So the report also says how much CPU
 * the vCPU threads burnt in the silent stretch: a busy silence is a guest (or the nested lab under it) spinning
 * without getting anywhere; an idle one is a guest waiting for something, such as an interrupt that never came, or
 * simply a command that sleeps. That is why the limit is the user's choice ({@code --stall-limit}), on by default
 * only inside the nested lab, where stalls have been seen (docs/lab.md).
 *
 * <p>Queue notifications that arrive through ioeventfds make no exit, so the VMM counts the device workers'
 * wake-ups as progress too ({@code Machine}).
 */
public final class ProgressWatchdog implements AutoCloseable {
    private final long limitNanos;
    private final LongSupplier progress;
    private final LongSupplier cpuNanos;
    private final Consumer<String> onStall;
    private final Thread thread;
    private long lastProgress;
    private long lastChange;
    private long cpuAtLastChange;
    private volatile boolean closed;

    /**
     * @param limit    how long without progress counts as a stall
     * @param progress a counter that grows while the guest makes progress (the VM's exit count)
     * @param cpuNanos CPU time used so far by the vCPU threads
     * @param onStall  told once, with one line saying what was seen
     * @param nanoTime the clock (System::nanoTime outside tests)
     */
    ProgressWatchdog(Duration limit, LongSupplier progress, LongSupplier cpuNanos, Consumer<String> onStall,
            LongSupplier nanoTime, boolean startThread) {
        this.limitNanos = limit.toNanos();
        this.progress = progress;
        this.cpuNanos = cpuNanos;
        this.onStall = onStall;
        this.lastProgress = progress.getAsLong();
        this.lastChange = nanoTime.getAsLong();
        this.cpuAtLastChange = cpuNanos.getAsLong();
        long period = Math.max(10_000_000L, limitNanos / 20);
        this.thread = !startThread ? null : Thread.ofPlatform().daemon().name("progress-watchdog").start(() -> {
            while (!closed && !check(nanoTime.getAsLong())) {
                try {
                    Thread.sleep(Duration.ofNanos(period));
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Starts watching on its own thread. */
    public static ProgressWatchdog start(Duration limit, LongSupplier progress, LongSupplier cpuNanos,
            Consumer<String> onStall) {
        return new ProgressWatchdog(limit, progress, cpuNanos, onStall, System::nanoTime, true);
    }

    /** One look at the counters at time {@code now}; true (and onStall told) when the guest has stalled. */
    boolean check(long now) {
        long current = progress.getAsLong();
        if (current != lastProgress) {
            lastProgress = current;
            lastChange = now;
            cpuAtLastChange = cpuNanos.getAsLong();
            return false;
        }
        long silent = now - lastChange;
        if (silent < limitNanos) {
            return false;
        }
        double cpuSeconds = (cpuNanos.getAsLong() - cpuAtLastChange) / 1e9;
        boolean busy = cpuSeconds * 1e9 >= silent / 2.0;
        onStall.accept(String.format("no VM exit and no console output for %.0f s; the vCPUs were %s "
                + "(%.1f s of CPU in that time)", silent / 1e9,
                busy ? "busy but did no I/O (spinning, or a command that only computes)"
                        : "idle (waiting for an interrupt, or a command that only sleeps)", cpuSeconds));
        return true;
    }

    /** The watching thread, or null when none was started (tests). */
    Thread thread() {
        return thread;
    }

    /**
     * Stops watching, and returns once the thread has ended: its stall note reads KVM's coalesced ring, a page of
     * vCPU 0's mapping that the VM's close unmaps next (a read after that would be a fault, not an exception).
     */
    @Override
    public void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
            Joins.joinUninterruptibly(thread);
        }
    }
}
