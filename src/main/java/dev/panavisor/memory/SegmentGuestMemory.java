package dev.panavisor.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@link GuestMemory} over a {@link MemorySegment}: the common code of the heap-backed and mmap-backed memories.
 *
 * <p>Accesses use unaligned little-endian layouts: a guest may place a field anywhere, and x86 allows it.
 */
public abstract class SegmentGuestMemory implements GuestMemory {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment segment;

    protected SegmentGuestMemory(MemorySegment segment) {
        this.segment = segment;
    }

    /** The backing segment, for the layer that registers it with KVM. */
    protected MemorySegment segment() {
        return segment;
    }

    @Override
    public long size() {
        return segment.byteSize();
    }

    @Override
    public int readU8(long address) {
        checkRange(address, 1);
        return Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, address));
    }

    @Override
    public int readU16(long address) {
        checkRange(address, 2);
        return Short.toUnsignedInt(segment.get(U16, address));
    }

    @Override
    public long readU32(long address) {
        checkRange(address, 4);
        return Integer.toUnsignedLong(segment.get(U32, address));
    }

    @Override
    public long readU64(long address) {
        checkRange(address, 8);
        return segment.get(U64, address);
    }

    @Override
    public void writeU8(long address, int value) {
        checkRange(address, 1);
        segment.set(ValueLayout.JAVA_BYTE, address, (byte) value);
    }

    @Override
    public void writeU16(long address, int value) {
        checkRange(address, 2);
        segment.set(U16, address, (short) value);
    }

    @Override
    public void writeU32(long address, int value) {
        checkRange(address, 4);
        segment.set(U32, address, value);
    }

    @Override
    public void writeU64(long address, long value) {
        checkRange(address, 8);
        segment.set(U64, address, value);
    }

    @Override
    public void readU64s(long address, long[] dst, int count) {
        checkRange(address, count * 8L);
        MemorySegment.copy(segment, U64, address, dst, 0, count);
    }

    @Override
    public void read(long address, byte[] dst, int offset, int length) {
        checkRange(address, length);
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, address, dst, offset, length);
    }

    @Override
    public void write(long address, byte[] src, int offset, int length) {
        checkRange(address, length);
        MemorySegment.copy(src, offset, segment, ValueLayout.JAVA_BYTE, address, length);
    }

    @Override
    public void fill(long address, long length, byte value) {
        checkRange(address, length);
        segment.asSlice(address, length).fill(value);
    }

    @Override
    public long hostAddress(long address, long length) {
        checkRange(address, length);
        return segment.isNative() ? segment.address() + address : -1;
    }

    @Override
    public ByteBuffer buffer(long address, int length) {
        checkRange(address, length);
        return segment.asSlice(address, length).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }
}
