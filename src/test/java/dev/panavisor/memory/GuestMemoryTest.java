package dev.panavisor.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.LongFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The same contract for the heap-backed and the mmap-backed memory. */
class GuestMemoryTest {
    static List<LongFunction<GuestMemory>> memories() {
        return List.of(HeapGuestMemory::new, MappedGuestMemory::allocate);
    }

    @ParameterizedTest
    @MethodSource("memories")
    void values_are_little_endian_and_unsigned(LongFunction<GuestMemory> factory) {
        GuestMemory memory = factory.apply(8192);
        memory.writeU32(0x100, 0xdeadbeef);
        assertEquals(0xef, memory.readU8(0x100));
        assertEquals(0xbeef, memory.readU16(0x100));
        assertEquals(0xdeadbeefL, memory.readU32(0x100));
        memory.writeU64(0x203, 0x0102030405060708L); // unaligned is fine, as on x86
        assertEquals(0x0102030405060708L, memory.readU64(0x203));
        assertEquals(0x08, memory.readU8(0x203));
        memory.writeU16(0x300, 0xffff);
        assertEquals(0xffff, memory.readU16(0x300));
    }

    @ParameterizedTest
    @MethodSource("memories")
    void byte_ranges_fills_and_buffers_see_the_same_bytes(LongFunction<GuestMemory> factory) {
        GuestMemory memory = factory.apply(4096);
        memory.write(10, new byte[] {1, 2, 3, 4});
        assertArrayEquals(new byte[] {2, 3}, memory.readBytes(11, 2));
        var buffer = memory.buffer(10, 4);
        assertEquals(0x04030201, buffer.getInt(0));
        buffer.put(0, (byte) 9);
        assertEquals(9, memory.readU8(10));
        memory.fill(0, 4096, (byte) 0x5a);
        assertEquals(0x5a5a5a5a5a5a5a5aL, memory.readU64(4088));
    }

    @ParameterizedTest
    @MethodSource("memories")
    void accesses_outside_memory_throw_and_change_nothing(LongFunction<GuestMemory> factory) {
        GuestMemory memory = factory.apply(4096);
        memory.writeU8(4095, 7);
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> memory.writeU16(4095, 0xffff));
        assertEquals("guest memory access of 2 bytes at 0xfff is outside guest memory (size 0x1000)", e.getMessage());
        assertEquals(7, memory.readU8(4095), "a partly out-of-range write must not write the part inside");
        assertThrows(GuestMemoryException.class, () -> memory.readU64(-8));
        assertThrows(GuestMemoryException.class, () -> memory.readBytes(4000, 200));
        assertThrows(GuestMemoryException.class, () -> memory.buffer(4096, 1));
        assertThrows(GuestMemoryException.class, () -> memory.fill(1, Long.MAX_VALUE, (byte) 0));
        // Overflow-safe: address + length wrapping around must not look in range.
        assertFalse(memory.contains(Long.MAX_VALUE, Long.MAX_VALUE));
        assertTrue(memory.contains(4096, 0));
        assertTrue(memory.contains(0, 4096));
        assertTrue(GuestMemory.within(4088, 8, 4096));
        assertFalse(GuestMemory.within(4089, 8, 4096));
        assertFalse(GuestMemory.within(-1, 1, 4096));
        assertFalse(GuestMemory.within(8, Long.MAX_VALUE, 4096));
    }

    @ParameterizedTest
    @MethodSource("memories")
    void u64s_read_at_once_are_the_values_read_one_by_one(LongFunction<GuestMemory> factory) {
        GuestMemory memory = factory.apply(4096);
        for (int i = 0; i < 8; i++) {
            memory.writeU64(4032 + 8L * i, 0x0102_0304_0506_0708L * (i + 1));
        }
        memory.writeU64(4093 - 8, -1L); // an unaligned one too
        long[] values = new long[9];
        memory.readU64s(4032, values, 8);
        for (int i = 0; i < 8; i++) {
            assertEquals(memory.readU64(4032 + 8L * i), values[i], "value " + i);
        }
        memory.readU64s(4093 - 8, values, 1);
        assertEquals(-1L, values[0]);
        assertThrows(GuestMemoryException.class, () -> memory.readU64s(4040, values, 8), "past the end");
        assertThrows(GuestMemoryException.class, () -> memory.readU64s(-8, values, 1));
    }

    @ParameterizedTest
    @MethodSource("memories")
    void bad_sizes_are_rejected_with_a_message(LongFunction<GuestMemory> factory) {
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> factory.apply(-1));
        assertTrue(e.getMessage().startsWith("guest memory size must be"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void mappedGuestMemoryStartsOnAHugePageBoundary() {
        for (long size : new long[] {4096, 3L << 20, 64L << 20}) {
            try (MappedGuestMemory memory = MappedGuestMemory.allocate(size)) {
                assertEquals(0, memory.hostSegment().address() % (2L << 20), "2 MiB-aligned for " + size);
                assertEquals(size, memory.hostSegment().byteSize());
                memory.hostSegment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, size - 1, (byte) 7);
                assertEquals(7, memory.hostSegment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, size - 1));
            }
        }
    }
}
