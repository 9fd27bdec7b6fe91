package dev.panavisor.cli;

/**
 * A line for the user, said while the VMM is stopping, by a daemon thread that the caller waits for 2 s at most. A
 * stderr that nobody reads (a paused pager, a full pipe) blocks the write that says it; said on the stopping thread
 * itself, that write would hold the stop, the VM would never be closed and the process never end. A daemon thread
 * still blocked when the JVM exits does not keep it alive, so the line is lost only where nobody could read it.
 */
final class BoundedNotice {
    /** How long a caller waits for the line to be written before going on without it. */
    static final long WAIT_MILLIS = 2_000;

    private final Thread thread;

    private BoundedNotice(Thread thread) {
        this.thread = thread;
    }

    /** Starts saying the line: {@code say} writes it (and flushes) on a daemon thread named {@code name}. */
    static BoundedNotice start(String name, Runnable say) {
        return new BoundedNotice(Thread.ofPlatform().daemon().name(name).start(say));
    }

    /** Waits until the line is written, {@link #WAIT_MILLIS} at most; an interrupt ends the wait (and is kept). */
    void await() {
        try {
            thread.join(WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
