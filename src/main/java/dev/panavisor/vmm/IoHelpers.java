package dev.panavisor.vmm;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A few threads that run a virtio-blk batch's requests beside the device's worker
 * ({@code VirtioBlock.serveConcurrently}): when the guest has several requests in flight (Linux splits a 1 MiB read
 * into requests of at most {@code seg_max} pages; eight readers queue eight), their host reads and writes overlap
 * instead of running one after another.
 *
 * <p>The threads start at once, as the VM is built: the seccomp filter installed once every VM thread has started
 * (docs/security.md) is not asked to allow new threads later. They are joined by {@link #close()}, which the
 * device's {@link DeviceWorker} calls after its own thread has ended, so no request is in flight by then.
 *
 * <p>How many: {@link #count()}, one fewer than the host's processors (the worker itself runs the first request of
 * each batch), at least one and at most three; the system property {@value #COUNT_PROPERTY} overrides it, and 0
 * turns the helpers off (for measurements: docs/performance.md, "virtio-blk in a guest").
 */
final class IoHelpers implements Executor, AutoCloseable {
    static final String COUNT_PROPERTY = "panavisor.blk.helpers";

    private final ThreadPoolExecutor pool;
    private final List<Thread> threads = new CopyOnWriteArrayList<>();

    IoHelpers(String name, int count) {
        AtomicInteger next = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(count, count, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                task -> {
                    Thread thread = Thread.ofPlatform().name(name + "-io-" + next.incrementAndGet()).daemon()
                            .unstarted(task);
                    threads.add(thread);
                    return thread;
                });
        pool.prestartAllCoreThreads();
    }

    /** The helpers a block device gets: the property's value if set, else one fewer than the processors, 1 to 3. */
    static int count() {
        Integer configured = Integer.getInteger(COUNT_PROPERTY);
        if (configured != null) {
            return Math.max(0, configured);
        }
        return Math.max(1, Math.min(3, Runtime.getRuntime().availableProcessors() - 1));
    }

    @Override
    public void execute(Runnable task) {
        pool.execute(task);
    }

    /** Ends the threads and joins them; work handed over after this is refused (the device then runs it itself). */
    @Override
    public void close() {
        pool.shutdown();
        threads.forEach(Joins::joinUninterruptibly);
    }

    /** For tests: the threads still alive. */
    long liveThreads() {
        return threads.stream().filter(Thread::isAlive).count();
    }
}
