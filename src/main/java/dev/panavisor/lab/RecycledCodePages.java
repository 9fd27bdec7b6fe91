package dev.panavisor.lab;

import dev.panavisor.sys.Libc;
import dev.panavisor.sys.ThreadAffinity;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.LongConsumer;

/**
 * Clears the lab's freed memory of translated code before a benchmark's run, so that the benchmark measures the VMM
 * it runs and not the memory the process before it left behind.
 *
 * <p>Why (docs/performance.md, "The lab's memory stall, explained"): the lab's L1 runs on QEMU's TCG, which
 * translates every piece of code L1 executes (L1's programs, a JVM's compiled methods, a guest's kernel) and watches
 * the pages that code came from, so that a write there can drop the translations. When such a page is freed and
 * handed out again, clearing it makes every store a slow, checked one until the page holds no translation: measured
 * in L1, clearing a recycled 2 MiB huge page that had held executed code took 0.35-1.0 s, a fresh one 5 ms. A
 * guest's first touch of memory is such a clearing (L1's KVM asks for a huge page and zeroes it), so a boot that
 * drew one stalled for most of a second, whichever VMM ran it, depending on what the process before it freed.
 *
 * <p>{@link #clearBeforeRun()} takes huge pages from L1 the way a guest's first touches do and gives them back: the
 * recycled ones it draws are cleared (slowly) here, before the run's clock starts, and return to L1's free lists as
 * plain zeroed memory, which the next allocations get first. Linux keeps a few freed huge pages on a list per CPU,
 * so the work is split between threads pinned one to each CPU. The amount is a guest's memory plus a margin for the
 * VMM's own start-up, which takes from the same lists first. On hardware virtualization nothing here is slow; the
 * bench commands clear only inside the lab, and say so in one summary line.
 */
public final class RecycledCodePages {
    /** x86-64's 2 MiB page, the size of a transparent huge page. */
    static final long HUGE_PAGE = 2L << 20;
    /** A first touch that took longer than this cleared a recycled page (a fresh one takes about 5 ms in the lab). */
    static final long SLOW_NANOS = 50_000_000L;
    /** Cleared besides the guest's memory: more than either VMM's own start-up takes (Panavisor about 51 MiB). */
    static final long MARGIN = 128L << 20;

    /** What clearing found: huge pages touched, how many of them were slow, and the time it took. */
    public record Cleared(int hugePages, int slow, double millis) {
        Cleared plus(Cleared other) {
            return new Cleared(hugePages + other.hugePages, slow + other.slow, Math.max(millis, other.millis));
        }
    }

    private final long bytes;
    private final boolean enabled;
    private int runs;
    private int runsThatDrewSome;
    private int slowPages;
    private double millis;

    /** Clears {@code guestBytes} plus {@link #MARGIN} before each run, if {@code enabled} (inside the lab). */
    public RecycledCodePages(long guestBytes, boolean enabled) {
        this.bytes = guestBytes + MARGIN;
        this.enabled = enabled;
    }

    /** Called just before a run whose VMM is measured starts; outside the lab it does nothing. */
    public void clearBeforeRun() {
        if (!enabled) {
            return;
        }
        Cleared cleared = clearOnEveryCpu(bytes, ThreadAffinity.allowedCpus());
        runs++;
        runsThatDrewSome += cleared.slow() > 0 ? 1 : 0;
        slowPages += cleared.slow();
        millis += cleared.millis();
    }

    /** How many runs were cleared before. */
    int runs() {
        return runs;
    }

    /** One line for a benchmark's report, or none outside the lab. */
    public Optional<String> summary() {
        if (!enabled) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT, "lab: %d MiB of L1's free memory cleared before each of "
                + "%d runs, untimed (docs/performance.md, \"The lab's memory stall, explained\"); recycled code "
                + "pages found before %d of them (%d slow huge pages); %.1f s of clearing in all", bytes >> 20,
                runs, runsThatDrewSome, slowPages, millis / 1000));
    }

    /**
     * Clears {@code bytes} in equal shares, one for each of {@code cpus}, each on a thread pinned to its CPU (advice: a
     * thread that cannot be pinned clears its share wherever it runs). Waits for every share, even after one failed;
     * the time is the longest share's.
     */
    static Cleared clearOnEveryCpu(long bytes, List<Integer> cpus) {
        long share = Math.ceilDiv(bytes, cpus.size());
        List<FutureTask<Cleared>> tasks = new ArrayList<>();
        for (int cpu : cpus) {
            FutureTask<Cleared> task = new FutureTask<>(() -> {
                if (cpu < 1024) { // a cpu_set_t's reach
                    ThreadAffinity.pinCallingThread(cpu);
                }
                return clear(share, address -> { });
            });
            tasks.add(task);
            Thread.ofPlatform().name("lab-clear-" + cpu).daemon().start(task);
        }
        Cleared total = new Cleared(0, 0, 0);
        RuntimeException failure = null;
        for (FutureTask<Cleared> task : tasks) {
            try {
                total = total.plus(waitFor(task));
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return total;
    }

    private static Cleared waitFor(FutureTask<Cleared> task) {
        try {
            return task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while clearing the lab's free memory", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException runtime ? runtime
                    : new LabException("clearing the lab's free memory failed: " + e.getCause(), e.getCause());
        }
    }

    /** The first 2 MiB boundary at or after {@code address}. */
    static long alignUp(long address) {
        return (address + HUGE_PAGE - 1) & -HUGE_PAGE;
    }

    /**
     * Maps {@code bytes} (rounded up to whole huge pages, plus one for alignment) of anonymous memory, advises the
     * aligned stretch MADV_HUGEPAGE, writes one byte in each huge page, so that the kernel allocates and zeroes it,
     * then unmaps the whole mapping, whose address goes to {@code mappedAt} first. On a host without transparent huge
     * pages the writes take one small page each and clear next to nothing; the stall this is for then does not
     * arise in the same way either.
     */
    static Cleared clear(long bytes, LongConsumer mappedAt) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes to clear must be positive, got " + bytes);
        }
        int pages = Math.toIntExact(Math.ceilDiv(bytes, HUGE_PAGE));
        long length = pages * HUGE_PAGE;
        MemorySegment reserved = Libc.mmap(length + HUGE_PAGE, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0, "memory to clear");
        mappedAt.accept(reserved.address());
        try {
            MemorySegment huge = MemorySegment.ofAddress(alignUp(reserved.address())).reinterpret(length);
            Libc.madvise(huge, Libc.MADV_HUGEPAGE);
            int slow = 0;
            long start = System.nanoTime();
            for (int i = 0; i < pages; i++) {
                long before = System.nanoTime();
                huge.set(ValueLayout.JAVA_BYTE, i * HUGE_PAGE, (byte) 1);
                if (System.nanoTime() - before > SLOW_NANOS) {
                    slow++;
                }
            }
            return new Cleared(pages, slow, (System.nanoTime() - start) / 1e6);
        } finally {
            Libc.munmap(reserved);
        }
    }
}
