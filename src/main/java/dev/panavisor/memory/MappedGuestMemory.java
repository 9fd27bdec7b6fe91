package dev.panavisor.memory;

import dev.panavisor.sys.Libc;
import dev.panavisor.sys.NativeCallException;
import java.lang.foreign.MemorySegment;

/**
 * Guest memory backed by an anonymous private mapping, the kind KVM maps into a guest with
 * KVM_SET_USER_MEMORY_REGION. MAP_NORESERVE: the host commits pages only as the guest touches them, so a 512 MiB
 * guest that uses 40 MiB costs about 40 MiB of host memory.
 *
 * <p>The mapping starts on a 2 MiB boundary and is advised MADV_HUGEPAGE, as QEMU does with guest RAM: where the
 * host has transparent huge pages (in "always" or "madvise" mode), each first touch of guest memory then faults in
 * 2 MiB at once, and KVM can map the guest with 2 MiB pages in its nested page tables. Every first touch is a
 * page fault the host handles for the guest, and under nested virtualization (the lab) each one is costly; a
 * booting kernel touches tens of MiB (docs/performance.md, "The guest's own pace").
 */
public final class MappedGuestMemory extends SegmentGuestMemory implements AutoCloseable {
    private static final long PAGE_SIZE = 4096;
    /** x86-64's 2 MiB page, the size of a transparent huge page. */
    private static final long HUGE_PAGE = 2L << 20;
    private boolean closed;

    private MappedGuestMemory(MemorySegment mapping) {
        super(mapping);
    }

    /** Maps {@code size} bytes (a positive multiple of 4 KiB) of zeroed memory. */
    public static MappedGuestMemory allocate(long size) {
        if (size <= 0 || size % PAGE_SIZE != 0) {
            throw new GuestMemoryException("guest memory size must be a positive multiple of 4 KiB, got " + size);
        }
        MemorySegment reserved;
        try {
            reserved = Libc.mmap(size + HUGE_PAGE, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0, "guest memory");
        } catch (NativeCallException e) {
            throw new GuestMemoryException("cannot map " + (size >> 20) + " MiB of guest memory: " + e.getMessage(), e);
        }
        // Keep the 2 MiB-aligned stretch of `size` bytes and give the rest back.
        long start = reserved.address();
        long aligned = (start + HUGE_PAGE - 1) & -HUGE_PAGE;
        if (aligned > start) {
            Libc.munmap(MemorySegment.ofAddress(start).reinterpret(aligned - start));
        }
        long tail = start + size + HUGE_PAGE - (aligned + size);
        if (tail > 0) {
            Libc.munmap(MemorySegment.ofAddress(aligned + size).reinterpret(tail));
        }
        MemorySegment mapping = MemorySegment.ofAddress(aligned).reinterpret(size);
        Libc.madvise(mapping, Libc.MADV_HUGEPAGE); // advice: without transparent huge pages it fails, harmlessly
        return new MappedGuestMemory(mapping);
    }

    /**
     * Faults in {@code length} bytes from {@code offset} now, as a guest's first writes there would, without changing
     * what they hold (MADV_POPULATE_WRITE), so the guest's own first touches find the host pages there. Advice: on a
     * kernel older than 5.14 nothing happens. Returns whether the pages were faulted in.
     */
    public boolean populate(long offset, long length) {
        return Libc.madvise(segment().asSlice(offset, length), Libc.MADV_POPULATE_WRITE) == 0;
    }

    /** The host mapping, to register with KVM. Valid until {@link #close()}. */
    public MemorySegment hostSegment() {
        return segment();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.munmap(segment());
        }
    }
}
