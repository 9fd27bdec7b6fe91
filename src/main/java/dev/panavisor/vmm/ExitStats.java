package dev.panavisor.vmm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the exits a guest causes, by port for port I/O and by 4 KiB page for MMIO. Every exit is a round trip
 * through the VMM (milliseconds each inside the nested lab), so these counts explain where boot time goes.
 * Thread-safe: vCPU threads count concurrently.
 */
public final class ExitStats {
    /**
     * MMIO pages counted one by one. A guest can exit at any page it maps without RAM behind it (a probe, or a
     * hostile kernel reading every page of the address space), so past this many the rest share one row: the counts
     * cannot grow the VMM's heap without end.
     */
    static final int MMIO_PAGE_LIMIT = 256;

    private final AtomicLongArray ports = new AtomicLongArray(65536);
    private final ConcurrentHashMap<Long, LongAdder> mmioPages = new ConcurrentHashMap<>();
    private final LongAdder mmioOtherPages = new LongAdder();
    private final LongAdder other = new LongAdder();

    void port(int port) {
        ports.incrementAndGet(port & 0xffff);
    }

    void mmio(long address) {
        long page = address & ~0xfffL;
        LongAdder count = mmioPages.get(page);
        if (count == null) {
            if (mmioPages.size() >= MMIO_PAGE_LIMIT) { // vCPUs racing here may each add one more: still bounded
                mmioOtherPages.increment();
                return;
            }
            count = mmioPages.computeIfAbsent(page, p -> new LongAdder());
        }
        count.increment();
    }

    void other() {
        other.increment();
    }

    private final LongAdder coalesced = new LongAdder();

    void coalesced() {
        coalesced.increment();
    }

    /** Writes KVM recorded in its coalesced ring: they reached their device without an exit (not in {@link #total}). */
    public long coalescedWrites() {
        return coalesced.sum();
    }

    /** Total exits counted. */
    public long total() {
        long total = other.sum() + mmioOtherPages.sum();
        for (int i = 0; i < ports.length(); i++) {
            total += ports.get(i);
        }
        for (var count : mmioPages.values()) {
            total += count.sum();
        }
        return total;
    }

    /** The busiest sources, most first, as "port 0x3f8: 1234" / "mmio 0xd0000000: 56" lines. */
    public List<String> top(int n) {
        record Row(String name, long count) {
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < ports.length(); i++) {
            if (ports.get(i) > 0) {
                rows.add(new Row(String.format("port 0x%x", i), ports.get(i)));
            }
        }
        mmioPages.forEach((page, count) -> rows.add(new Row(String.format("mmio 0x%x", page), count.sum())));
        if (mmioOtherPages.sum() > 0) {
            rows.add(new Row("mmio, other pages (past the first " + MMIO_PAGE_LIMIT + ")", mmioOtherPages.sum()));
        }
        if (other.sum() > 0) {
            rows.add(new Row("other", other.sum()));
        }
        return rows.stream().sorted(Comparator.comparingLong(Row::count).reversed()).limit(n)
                .map(row -> row.name() + ": " + row.count()).toList();
    }
}
