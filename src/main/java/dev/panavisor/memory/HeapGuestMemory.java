package dev.panavisor.memory;

import java.lang.foreign.Arena;

/**
 * Guest memory on the Java heap (well, in an automatically freed off-heap segment): no KVM, no mmap.
 * Used by device and loader tests and by benchmarks that play the guest's side.
 */
public final class HeapGuestMemory extends SegmentGuestMemory {
    public HeapGuestMemory(long size) {
        super(Arena.ofAuto().allocate(checkSize(size), 4096));
    }

    private static long checkSize(long size) {
        if (size <= 0) {
            throw new GuestMemoryException("guest memory size must be positive, got " + size);
        }
        return size;
    }
}
