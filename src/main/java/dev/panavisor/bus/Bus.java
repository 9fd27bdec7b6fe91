package dev.panavisor.bus;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * An address space (port I/O or MMIO) that routes accesses to the device registered for each range.
 *
 * <p>Ranges may not overlap. An access that hits no device is answered the way a PC's bus does when nobody claims
 * the cycle: a read floats high and returns all ones, a write is dropped. Those misses are counted and told to a
 * {@link MissListener}, so a test or {@code run --verbose} can show a guest probing hardware that is not there.
 *
 * <p>Lookup is a binary search over the ranges' bases, kept sorted in a plain {@code long[]}: O(log n) for the
 * handful of devices a microVM has, and nothing allocated on the way (a {@code TreeMap<Long, ...>} boxes the
 * address of every access, an allocation per VM exit that the lab's C1-compiled JVM does not optimise away).
 *
 * <p>Threads: all devices are registered before any vCPU thread starts; after that, every vCPU thread reads and
 * writes through the bus at once. Each access holds its device's own lock (by default the device object's monitor),
 * so device models need not be thread-safe and two vCPUs touching two different devices never wait for each other.
 * Anything else that calls into a device (its I/O worker, host input) takes the same lock: the object it
 * registered the device with.
 */
public final class Bus {
    /** One registered device, the range it answers, and the lock its accesses hold. */
    public record Range(String name, long base, long length, BusDevice device, Object lock) {
        long end() {
            return base + length; // exclusive
        }

        boolean contains(long address, int size) {
            return address >= base && address - base + size <= length;
        }
    }

    /** Hears of each access no device claimed; called on the vCPU thread that made it, holding no lock. */
    @FunctionalInterface
    public interface MissListener {
        /** @param value what was written, or the all-ones a read got */
        void missed(Bus bus, long address, int size, boolean write, long value);
    }

    private final String name;
    /**
     * The ranges in address order, and their bases in a parallel array for the binary search. Replaced by every
     * registration; registrations end before any vCPU thread starts, and Thread.start publishes these fields.
     */
    private long[] bases = new long[0];
    private Range[] sorted = new Range[0];
    /** Set before any vCPU thread starts (Thread.start publishes it), like the ranges. */
    private MissListener missListener = (bus, address, size, write, value) -> { };
    private final LongAdder unhandledReads = new LongAdder();
    private final LongAdder unhandledWrites = new LongAdder();

    /** @param name what this bus is called in messages ("port I/O", "MMIO") */
    public Bus(String name) {
        this.name = name;
    }

    /** Registers {@code device} for [base, base+length), locked by its own monitor. */
    public void register(String deviceName, long base, long length, BusDevice device) {
        register(deviceName, base, length, device, device);
    }

    /**
     * Registers {@code device} for [base, base+length), its accesses holding {@code lock} (several ranges of one
     * device, such as the i8042's two ports, share one). Throws {@link BusException} on overlap or a bad range.
     */
    public void register(String deviceName, long base, long length, BusDevice device, Object lock) {
        if (length <= 0 || base < 0 || base + length < base) {
            throw new BusException(String.format("%s: bad range for %s: base 0x%x length 0x%x", name, deviceName, base,
                    length));
        }
        Range candidate = new Range(deviceName, base, length, device, lock);
        // The range with the highest base inside the candidate's span, if any, is the one that could overlap it.
        int below = floor(base + length - 1);
        if (below >= 0 && sorted[below].end() > base) {
            Range other = sorted[below];
            throw new BusException(String.format("%s: %s at [0x%x, 0x%x) overlaps %s at [0x%x, 0x%x)", name,
                    deviceName, base, candidate.end(), other.name(), other.base(), other.end()));
        }
        int at = below + 1;
        Range[] ranges = new Range[sorted.length + 1];
        System.arraycopy(sorted, 0, ranges, 0, at);
        ranges[at] = candidate;
        System.arraycopy(sorted, at, ranges, at + 1, sorted.length - at);
        long[] starts = new long[ranges.length];
        for (int i = 0; i < ranges.length; i++) {
            starts[i] = ranges[i].base();
        }
        sorted = ranges;
        bases = starts;
    }

    /** The index of the range with the highest base at or below {@code address}, or -1 when there is none. */
    private int floor(long address) {
        int index = Arrays.binarySearch(bases, address);
        return index >= 0 ? index : -index - 2;
    }

    /** Who hears of unclaimed accesses from now on; set it before the vCPU threads start. */
    public void onMiss(MissListener listener) {
        this.missListener = java.util.Objects.requireNonNull(listener);
    }

    /** The range that holds every byte of an access of {@code size} bytes at {@code address}, or null. */
    public Range find(long address, int size) {
        int index = floor(address);
        if (index < 0 || !sorted[index].contains(address, size)) {
            return null;
        }
        return sorted[index];
    }

    /** Reads {@code size} bytes at {@code address}; all ones (for that width) when no device is there. */
    public long read(long address, int size) {
        Range range = find(address, size);
        if (range == null) {
            unhandledReads.increment();
            missListener.missed(this, address, size, false, allOnes(size));
            return allOnes(size);
        }
        synchronized (range.lock()) {
            return range.device().read(address - range.base(), size) & allOnes(size);
        }
    }

    /** Writes {@code value} to the device at {@code address}; dropped (and counted) when no device is there. */
    public void write(long address, int size, long value) {
        Range range = find(address, size);
        if (range == null) {
            unhandledWrites.increment();
            missListener.missed(this, address, size, true, value & allOnes(size));
            return;
        }
        synchronized (range.lock()) {
            range.device().write(address - range.base(), size, value & allOnes(size));
        }
    }

    public long unhandledReads() {
        return unhandledReads.sum();
    }

    public long unhandledWrites() {
        return unhandledWrites.sum();
    }

    public String name() {
        return name;
    }

    /** The registered ranges in address order. */
    public List<Range> ranges() {
        return List.of(sorted);
    }

    static long allOnes(int size) {
        return size >= 8 ? -1L : (1L << (size * 8)) - 1;
    }
}
