package dev.panavisor.lab;

import dev.panavisor.sys.Libc;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.Optional;

/**
 * Clears the lab's freed memory of translated code before a timed run, so that a benchmark measures the VMM it runs
 * and not the memory the run before it left behind.
 *
 * <p>Why (docs/performance.md, "The lab's memory stall, explained"): the lab's L1 runs on QEMU's TCG, which
 * translates every piece of code L1 executes (L1's programs, a JVM's compiled methods, a guest's kernel) and watches
 * the pages that code came from, so that a write there can drop the translations. When such a page is freed and
 * handed out again, clearing it makes every store a slow, checked one until the page holds no translation: measured
 * in L1, clearing a recycled 2 MiB huge page that had held executed code took 0.37-1.0 s, a fresh one 5 ms. A
 * guest's first touch of memory is such a clearing (L1's KVM asks for a huge page and zeroes it), so a boot that
 * drew one stalled for most of a second, whichever VMM ran it, depending on what the process before it freed.
 *
 * <p>{@link #clear(long)} takes huge pages from L1 the way a guest's first touches do and gives them back: the
 * recycled ones it draws are cleared (slowly) here, outside the timed run, and return to L1's free lists as plain
 * zeroed memory, which the next allocations get first. On hardware virtualization nothing here is slow; the bench
 * commands clear before each timed run only inside the lab, and say so in one summary line.
 */
public final class RecycledCodePages {
    /** x86-64's 2 MiB page, the size of a transparent huge page. */
    static final long HUGE_PAGE = 2L << 20;
    /** A first touch that took longer than this cleared a recycled page (a fresh one takes about 5 ms in the lab). */
    static final long SLOW_NANOS = 50_000_000L;

    /** What one clearing found: huge pages touched, how many of them were slow, and the time it took. */
    public record Cleared(int hugePages, int slow, double millis) {
    }

    private final long bytes;
    private final boolean enabled;
    private int runs;
    private int runsThatDrewSome;
    private int slowPages;
    private double millis;

    /** Clears {@code bytes} (a guest's memory size) before each timed run, if {@code enabled} (inside the lab). */
    public RecycledCodePages(long bytes, boolean enabled) {
        this.bytes = bytes;
        this.enabled = enabled;
    }

    /** Called just before a timed run starts; outside the lab it does nothing. */
    public void clearBeforeRun() {
        if (!enabled) {
            return;
        }
        Cleared cleared = clear(bytes);
        runs++;
        runsThatDrewSome += cleared.slow() > 0 ? 1 : 0;
        slowPages += cleared.slow();
        millis += cleared.millis();
    }

    /** One line for the end of a benchmark's report, or none outside the lab. */
    public Optional<String> summary() {
        if (!enabled) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT, "lab: %d MiB of L1's free memory cleared "
                + "before each of %d timed runs, untimed (docs/performance.md, \"The lab's memory stall, explained\"); "
                + "recycled code pages found before %d of them (%d slow huge pages); %.1f s of clearing in all", bytes >> 20,
                runs, runsThatDrewSome, slowPages, millis / 1000));
    }

    /**
     * Maps {@code bytes} (rounded up to whole huge pages) of anonymous memory advised MADV_HUGEPAGE, writes one byte
     * in each huge page, so that the kernel allocates and zeroes it, then unmaps it all. Advice: on a host without
     * transparent huge pages the same writes take small pages, harmlessly.
     */
    public static Cleared clear(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes to clear must be positive, got " + bytes);
        }
        int pages = (int) ((bytes + HUGE_PAGE - 1) / HUGE_PAGE);
        long length = pages * HUGE_PAGE;
        MemorySegment reserved = Libc.mmap(length + HUGE_PAGE, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0, "memory to clear");
        try {
            long aligned = (reserved.address() + HUGE_PAGE - 1) & -HUGE_PAGE;
            MemorySegment huge = MemorySegment.ofAddress(aligned).reinterpret(length);
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
