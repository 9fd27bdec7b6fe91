package dev.panavisor.devices.virtio.mmio;

import java.util.function.BooleanSupplier;

/**
 * The work a device's worker runs without its transport's monitor ({@link VirtioMmioTransport#serveQueue}), counted
 * so that a vCPU about to change the queues can wait for it: a reset must not forget a queue whose requests are
 * still being read from disk into the guest's buffers (QEMU likewise drains a block device before resetting it).
 * While a vCPU waits, the worker takes no new work, so a busy driver cannot starve its own reset.
 *
 * <p>Every method is called holding the monitor of {@code lock} (the transport), and waits on it.
 */
final class WorkInFlight {
    private final Object lock;
    private int count;
    /** vCPUs waiting in {@link #awaitDrained}: a count, so that the first to leave does not let the worker go on. */
    private int drainers;

    WorkInFlight(Object lock) {
        this.lock = lock;
    }

    /** The worker took work: before it lets the monitor go for the I/O. Waits first while a vCPU drains. */
    void awaitNoDrain() {
        if (drainers == 0) {
            return; // the usual case, without the condition object below
        }
        waitWhile(() -> drainers > 0);
    }

    void started() {
        count++;
    }

    /** The I/O is over (or failed): a waiting vCPU may go on once the worker has answered and let the monitor go. */
    void ended() {
        count--;
        lock.notifyAll();
    }

    /** On a vCPU, before a reset or QueueReady 0: returns once no work is in flight. */
    void awaitDrained() {
        if (count == 0) {
            return;
        }
        drainers++;
        try {
            waitWhile(() -> count > 0);
        } finally {
            drainers--;
            lock.notifyAll();
        }
    }

    /** Waits on the monitor while {@code condition} holds; an interrupt is kept for the caller to see later. */
    private void waitWhile(BooleanSupplier condition) {
        boolean interrupted = false;
        while (condition.getAsBoolean()) {
            try {
                lock.wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
