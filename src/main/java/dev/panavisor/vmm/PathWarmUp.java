package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.sys.HandleCustomization;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import java.util.function.ToIntFunction;

/**
 * A thread that runs a device's data path a few times on scratch memory once the guest has booted, so that the JIT
 * has compiled it before the guest's first large transfer: {@link BlockPathWarmUp} for a disk, {@link NetPathWarmUp}
 * for a network card.
 *
 * <p>The thread is started with the device's worker (a confined VMM makes no new thread later) and waits until
 * {@link #begin()}, which the VMM calls when the guest's init writes its boot marker (port 0x440, {@link BootTimer}):
 * the guest's boot is over and its work is to come. Begun during the boot, a disk's warm-up made the boot slower
 * (docs/performance.md, "The disk's request path run ahead"). A guest whose init writes no marker gets no warm-up.
 * {@link #close()} stops it between two of its steps and joins it.
 *
 * <p>Before its device's steps it has the JVM specialize the method handles the workers call
 * ({@link HandleCustomization#workersAhead}). A VMM without a warm-up (none asked for, a flight recording, a guest without a boot
 * marker) leaves that to the workers' 127th call of each, as before.
 */
final class PathWarmUp implements AutoCloseable {
    /** The scratch devices' interrupt: nobody listens. */
    static final VirtioInterrupt NO_INTERRUPT = new VirtioInterrupt() {
        @Override
        public void usedBuffers() {
        }

        @Override
        public void configChanged() {
        }

        @Override
        public void deviceFailed(String reason) {
        }
    };

    private final ToIntFunction<BooleanSupplier> play;
    private final CountDownLatch begin = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean stopping;
    private volatile int played;

    /**
     * @param play runs the path, stopping early when its argument says so; returns how many of its steps succeeded
     */
    PathWarmUp(String name, ToIntFunction<BooleanSupplier> play) {
        this.play = play;
        this.thread = Thread.ofPlatform().name(name + "-warm-up").daemon().unstarted(this::waitAndPlay);
    }

    /** Whether a warm-up whose property says {@code steps} should run: not when 0, nor under a flight recording. */
    static boolean wanted(int steps, boolean recording) {
        return steps > 0 && !recording;
    }

    void start() {
        thread.start();
    }

    /** Lets the thread play; any call after the first does nothing. */
    void begin() {
        begin.countDown();
    }

    private void waitAndPlay() {
        try {
            begin.await();
        } catch (InterruptedException e) {
            return;
        }
        if (!stopping) {
            try {
                HandleCustomization.workersAhead(); // the workers' system calls (docs/performance.md)
                played = play.applyAsInt(() -> stopping);
            } catch (RuntimeException e) {
                // A scratch step the device could not serve: the guest's own requests report their errors.
            }
        }
    }

    /** Steps that had succeeded when the warm-up ended (for tests). */
    int served() {
        return played;
    }

    /** For tests: whether the thread has ended. */
    boolean isAlive() {
        return thread.isAlive();
    }

    /** For tests: waits up to {@code timeout} for the thread to end; returns whether it has. */
    boolean awaitEnd(java.time.Duration timeout) throws InterruptedException {
        return thread.join(timeout);
    }

    /** Stops the warm-up between two steps, and joins it. */
    @Override
    public void close() {
        stopping = true;
        begin.countDown();
        if (thread.isAlive()) {
            Joins.joinUninterruptibly(thread);
        }
    }
}
