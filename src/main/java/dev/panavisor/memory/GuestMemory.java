package dev.panavisor.memory;

import java.nio.ByteBuffer;

/**
 * Guest-physical memory as the VMM sees it: a range of bytes starting at guest-physical address 0.
 *
 * <p>This is the one way devices and loaders touch guest memory. Every access is bounds-checked; an access that
 * does not fit entirely inside [0, {@link #size()}) throws {@link GuestMemoryException} and changes nothing, so
 * a guest that hands a device a hostile address can never make the VMM read or write outside its memory.
 * Multi-byte values are little-endian, as on x86 and as virtio 1.x requires (virtio 1.2 §1.4).
 */
public interface GuestMemory {

    /** Number of bytes; valid addresses are 0 .. size()-1. Fixed for the memory's life. */
    long size();

    /** True when [address, address+length) lies entirely inside guest memory (overflow-safe). */
    default boolean contains(long address, long length) {
        return within(address, length, size());
    }

    /**
     * {@link #contains} for a memory of {@code size} bytes, for a loop that checks many ranges of one memory and
     * asks its size once: a plain static call that even the lab's C1-only JIT compiles inline, where each
     * {@code contains} is an interface call.
     */
    static boolean within(long address, long length, long size) {
        return address >= 0 && length >= 0 && address <= size && length <= size - address;
    }

    /** Throws {@link GuestMemoryException} unless {@link #contains(long, long)}. */
    default void checkRange(long address, long length) {
        if (!contains(address, length)) {
            throw GuestMemoryException.outOfRange(address, length, size());
        }
    }

    int readU8(long address);

    int readU16(long address);

    /** The unsigned 32-bit value at {@code address}, widened to a long. */
    long readU32(long address);

    long readU64(long address);

    /**
     * Reads {@code count} consecutive little-endian u64 values from {@code address} into {@code dst[0..count)}:
     * one range check and one copy, where a loop of {@link #readU64} checks and reads each.
     */
    default void readU64s(long address, long[] dst, int count) {
        checkRange(address, count * 8L);
        for (int i = 0; i < count; i++) {
            dst[i] = readU64(address + 8L * i);
        }
    }

    void writeU8(long address, int value);

    void writeU16(long address, int value);

    void writeU32(long address, int value);

    void writeU64(long address, long value);

    /** Copies {@code length} guest bytes at {@code address} into {@code dst[offset..]}. */
    void read(long address, byte[] dst, int offset, int length);

    /** Copies {@code src[offset..offset+length)} into guest memory at {@code address}. */
    void write(long address, byte[] src, int offset, int length);

    default byte[] readBytes(long address, int length) {
        byte[] bytes = new byte[length];
        read(address, bytes, 0, length);
        return bytes;
    }

    default void write(long address, byte[] src) {
        write(address, src, 0, src.length);
    }

    /** Sets {@code length} bytes at {@code address} to {@code value}. */
    void fill(long address, long length, byte value);

    /**
     * A little-endian {@link ByteBuffer} view of [address, address+length) that reads and writes guest memory
     * directly, for zero-copy I/O such as a {@code FileChannel} read into a guest buffer.
     */
    ByteBuffer buffer(long address, int length);

    /**
     * The host's virtual address of guest-physical [address, address+length), for a system call that moves data
     * straight into or out of guest memory (the block device's preadv); -1 when this memory is not native (heap
     * memory, in tests), whose callers use {@link #buffer} instead. Checked like every access.
     */
    default long hostAddress(long address, long length) {
        checkRange(address, length);
        return -1;
    }
}
