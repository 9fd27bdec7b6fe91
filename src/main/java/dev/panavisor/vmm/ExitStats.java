package dev.panavisor.vmm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts the exits a guest causes, by port for port I/O and by 4 KiB page for MMIO. Every exit is a round trip
 * through the VMM (milliseconds each inside the nested lab), so these counts explain where boot time goes.
 * Thread-safe: vCPU threads count concurrently.
 */
public final class ExitStats {
    private final AtomicLongArray ports = new AtomicLongArray(65536);
    private final java.util.concurrent.ConcurrentHashMap<Long, java.util.concurrent.atomic.LongAdder> mmioPages =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.LongAdder other = new java.util.concurrent.atomic.LongAdder();

    void port(int port) {
        ports.incrementAndGet(port & 0xffff);
    }

    void mmio(long address) {
        mmioPages.computeIfAbsent(address & ~0xfffL, page -> new java.util.concurrent.atomic.LongAdder()).increment();
    }

    void other() {
        other.increment();
    }

    private final java.util.concurrent.atomic.LongAdder coalesced = new java.util.concurrent.atomic.LongAdder();

    void coalesced() {
        coalesced.increment();
    }

    /** Writes KVM recorded in its coalesced ring: they reached their device without an exit (not in {@link #total}). */
    public long coalescedWrites() {
        return coalesced.sum();
    }

    /** Total exits counted. */
    public long total() {
        long total = other.sum();
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
        if (other.sum() > 0) {
            rows.add(new Row("other", other.sum()));
        }
        return rows.stream().sorted(Comparator.comparingLong(Row::count).reversed()).limit(n)
                .map(row -> row.name() + ": " + row.count()).toList();
    }
}
