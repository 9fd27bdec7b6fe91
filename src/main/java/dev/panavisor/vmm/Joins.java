package dev.panavisor.vmm;

/** Waiting for a VMM thread to end at close, whatever interrupts the closing thread meanwhile. */
final class Joins {
    private Joins() {
    }

    /**
     * Waits until {@code thread} (null: none) has ended. An interrupt does not cut the wait short (the thread may
     * still be writing guest memory that is about to be unmapped); it is kept and set again on return.
     */
    static void joinUninterruptibly(Thread thread) {
        if (thread == null) {
            return;
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Takes and lets go of each lock (null: none): whoever checked a flag under one of them before the flag was set
     * has finished what it did under it (the console's input writing guest memory, a key raising an interrupt).
     */
    static void passThrough(Object... locks) {
        for (Object lock : locks) {
            if (lock != null) {
                synchronized (lock) {
                    // Nothing to do inside: entering the monitor is the point.
                }
            }
        }
    }

    /**
     * Waits up to {@code millis} for {@code thread} to end; true if it has. An interrupt ends the wait early and is
     * set again on return.
     */
    static boolean joinWithin(Thread thread, long millis) {
        try {
            thread.join(Math.max(1, millis)); // join(0) would wait without end
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }
}
