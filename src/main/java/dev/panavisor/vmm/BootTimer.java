package dev.panavisor.vmm;

import dev.panavisor.bus.BusDevice;

/**
 * The boot-complete marker port: the guest's /init writes {@link #MARKER} to port {@link #PORT} as its very first
 * act (guest-images/init), and this device notes when, so the VMM can report how long the guest took to reach
 * user space. Reads return 0; any other write is ignored.
 */
final class BootTimer implements BusDevice {
    static final long PORT = 0x440;
    static final int MARKER = 123;

    private final long startNanos;
    private volatile long bootNanos = -1;
    /** Run once, on the vCPU thread, when the marker first arrives. */
    private final java.util.List<Runnable> markerListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    BootTimer(long startNanos) {
        this.startNanos = startNanos;
    }

    @Override
    public long read(long offset, int size) {
        return 0;
    }

    @Override
    public void write(long offset, int size, long value) {
        if (value == MARKER && bootNanos < 0) {
            bootNanos = System.nanoTime() - startNanos;
            for (Runnable listener : markerListeners) { // a loop, not forEach(Runnable::run): no call site to link
                listener.run();                          // on the vCPU thread (docs/performance.md, nineteenth session)
            }
        }
    }

    /**
     * Waits on the calling thread until the guest's init writes the marker or {@code end} completes, whichever comes
     * first, and runs {@code action} there if the marker came first (and before the end).
     */
    void afterMarkerUnless(java.util.concurrent.CompletableFuture<?> end, Runnable action) {
        java.util.concurrent.CompletableFuture<Void> marked = new java.util.concurrent.CompletableFuture<>();
        onMarker(() -> marked.complete(null));
        if (bootNanos >= 0) {
            marked.complete(null); // written before the listener was added
        }
        java.util.concurrent.CompletableFuture.anyOf(marked, end).handle((result, failure) -> null).join();
        if (marked.isDone() && !end.isDone()) {
            action.run();
        }
    }

    /** Runs {@code listener} when the guest's init writes the marker (on that vCPU thread: it must be quick). */
    void onMarker(Runnable listener) {
        markerListeners.add(listener);
    }

    /** Nanoseconds from VMM start to the marker, or -1 if the guest has not written it. */
    long bootNanos() {
        return bootNanos;
    }
}
