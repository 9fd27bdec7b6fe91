package dev.panavisor.memory;

import dev.panavisor.sys.Libc;
import dev.panavisor.sys.NativeCallException;
import java.lang.foreign.MemorySegment;

/**
 * Guest memory backed by an anonymous private mapping, the kind KVM maps into a guest with
 * KVM_SET_USER_MEMORY_REGION. MAP_NORESERVE: the host commits pages only as the guest touches them, so a 512 MiB
 * guest that uses 40 MiB costs about 40 MiB of host memory.
 */
public final class MappedGuestMemory extends SegmentGuestMemory implements AutoCloseable {
    private static final long PAGE_SIZE = 4096;
    private boolean closed;

    private MappedGuestMemory(MemorySegment mapping) {
        super(mapping);
    }

    /** Maps {@code size} bytes (a positive multiple of 4 KiB) of zeroed memory. */
    public static MappedGuestMemory allocate(long size) {
        if (size <= 0 || size % PAGE_SIZE != 0) {
            throw new GuestMemoryException("guest memory size must be a positive multiple of 4 KiB, got " + size);
        }
        try {
            return new MappedGuestMemory(Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0, "guest memory"));
        } catch (NativeCallException e) {
            throw new GuestMemoryException("cannot map " + (size >> 20) + " MiB of guest memory: " + e.getMessage(), e);
        }
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
