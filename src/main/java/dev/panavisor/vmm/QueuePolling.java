package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * A device worker's look at its queues before it sleeps (docs/devices.md, "Polling before sleeping"). After serving
 * them, the worker watches the queues' available rings for a while (its window) before it asks the driver for a
 * notification and waits for one. A request the driver makes available meanwhile is served at once: no thread
 * wake-up on the worker's side, and, since the queues' notifications are held while the worker looks
 * ({@link SplitVirtqueue#holdNotifications}), no notification, hence no exit, on the driver's.
 *
 * <p>The window adapts as QEMU's event loop adapts its polling time ({@code poll-max-ns}, util/aio-posix.c): it is
 * measured against how long the queues stayed idle after each round. Idle no longer than the window: it is right.
 * Longer, but within the ceiling: it doubles (from {@link #FIRST_WINDOW_NANOS}), so a guest that answers within the
 * ceiling is soon caught by polling. Longer than the ceiling: it halves, so a guest that has gone quiet costs little
 * spinning. The ceiling bounds the CPU a busy device may spin away; the worth of polling is the thread wake-up it
 * spares, so the ceiling belongs to the host: {@link #DISK_CEILING_MICROS} by default (QEMU's for an I/O thread),
 * more inside the nested lab, where a wake-up costs about a millisecond ({@code Lab.JVM_OPTIONS}).
 *
 * <p>The rule that keeps it correct: every polled queue has asked for a notification, and been found empty after
 * asking, before the worker sleeps ({@link #moreWork}); otherwise a chain published while the request was held back
 * would wait for a notification that never comes.
 */
final class QueuePolling {
    /** The ceiling of a disk worker's window, in microseconds; 0 turns polling off. */
    static final String DISK_CEILING_PROPERTY = "panavisor.blk.pollMaxMicros";
    static final long DISK_CEILING_MICROS = 32;
    /** The most the property may set: one second (a larger value is taken as this, never wrapped to nanoseconds). */
    static final long MAX_CEILING_MICROS = 1_000_000;
    /** The window's first step up from 0. */
    static final long FIRST_WINDOW_NANOS = 4_000;

    private final VirtioMmioTransport transport;
    private final int[] queues;
    private final long ceilingNanos;
    private long windowNanos;
    /** When the last round of serving ended (System.nanoTime). */
    private long idleSince = System.nanoTime();

    /**
     * Polls {@code queues} of {@code transport} after each round of serving them, for {@code windowNanos} at first and
     * then as {@link #adapt} decides, never longer than {@code ceilingNanos}.
     */
    QueuePolling(VirtioMmioTransport transport, int[] queues, long ceilingNanos, long windowNanos) {
        this.transport = transport;
        this.queues = queues.clone();
        this.ceilingNanos = ceilingNanos;
        this.windowNanos = Math.min(windowNanos, ceilingNanos);
    }

    /**
     * Polling for a disk's request queue (virtio-blk's one queue), with the ceiling {@link #DISK_CEILING_MICROS} or
     * what the property says (at most {@link #MAX_CEILING_MICROS}); null when that is 0 or less (the worker then
     * sleeps as soon as the queue is empty).
     */
    static QueuePolling forDisk(VirtioMmioTransport transport) {
        long micros = Long.getLong(DISK_CEILING_PROPERTY, DISK_CEILING_MICROS);
        long ceilingNanos = Math.clamp(micros, 0, MAX_CEILING_MICROS) * 1000;
        return ceilingNanos == 0 ? null : new QueuePolling(transport, new int[] {0}, ceilingNanos, 0);
    }

    /** Before a round of serving: finding a queue empty will not ask the driver to notify. */
    void hold() {
        for (int queue : queues) {
            transport.onQueue(queue, q -> {
                q.holdNotifications();
                return true;
            });
        }
    }

    /**
     * After a round of serving: watches the queues until one has a chain (true: serve again) or the window has
     * passed or {@code stopping} says so; then asks the driver to notify at its next chain on every queue and looks
     * once more (true if a chain came meanwhile, false if the worker may sleep).
     */
    boolean moreWork(BooleanSupplier stopping) {
        idleSince = System.nanoTime();
        while (System.nanoTime() - idleSince < windowNanos && !stopping.getAsBoolean()) {
            if (any(SplitVirtqueue::peekAvailable)) {
                adapt(System.nanoTime() - idleSince);
                return true;
            }
            // sched_yield, not a bare spin: a thread waiting for this CPU runs at once, such as L1's kernel worker
            // that injects the interrupt this worker's irqfd just raised. With Thread.onSpinWait() sequential reads
            // in the lab lost 15 % (docs/performance.md, "Polling before sleeping").
            Thread.yield();
        }
        boolean more = any(SplitVirtqueue::releaseNotifications);
        if (more) {
            adapt(System.nanoTime() - idleSince);
        }
        return more;
    }

    /** The worker was woken by a notification after sleeping: the queues were idle since the last round. */
    void wokeUp() {
        adapt(System.nanoTime() - idleSince);
    }

    /** The window now, in nanoseconds. */
    long windowNanos() {
        return windowNanos;
    }

    /**
     * After an idle stretch of {@code idleNanos} (from the end of a round of serving to the next chain): no longer
     * than the window, it stays; within the ceiling, it doubles; beyond it, it halves (to 0 below the first step).
     */
    void adapt(long idleNanos) {
        if (idleNanos <= windowNanos) {
            return;
        }
        if (idleNanos > ceilingNanos) {
            windowNanos = windowNanos / 2 < FIRST_WINDOW_NANOS ? 0 : windowNanos / 2;
        } else {
            windowNanos = Math.min(ceilingNanos, Math.max(FIRST_WINDOW_NANOS, 2 * windowNanos));
        }
    }

    /** Whether {@code step} says true for any queue; every queue takes the step, whatever the others said. */
    private boolean any(Predicate<SplitVirtqueue> step) {
        boolean found = false;
        for (int queue : queues) {
            found |= transport.onQueue(queue, step);
        }
        return found;
    }
}
