package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.memory.HeapGuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ElfKernelLoaderTest {
    private static final long MIB = 1 << 20;
    /** Where x86-64 links the kernel's text: __START_KERNEL_map + 16 MiB. */
    private static final long KERNEL_VIRTUAL = 0xffff_ffff_8100_0000L;
    private final HeapGuestMemory memory = new HeapGuestMemory(64 * MIB);

    @Test
    void copies_each_segment_to_its_physical_address_and_zeroes_its_bss() {
        byte[] text = SyntheticKernels.pattern(5000, 1);
        byte[] data = SyntheticKernels.pattern(3000, 2);
        var elf = new SyntheticKernels.Elf()
                .segment(16 * MIB, KERNEL_VIRTUAL, text, text.length)
                .segment(20 * MIB, KERNEL_VIRTUAL + 4 * MIB, data, 3000 + 8192);
        memory.fill(20 * MIB, 16384, (byte) 0xaa); // stale bytes where the bss goes

        LoadedKernel kernel = ElfKernelLoader.load(memory, elf.build());

        assertArrayEquals(text, memory.readBytes(16 * MIB, text.length));
        assertArrayEquals(data, memory.readBytes(20 * MIB, data.length));
        assertArrayEquals(new byte[8192], memory.readBytes(20 * MIB + 3000, 8192));
        assertEquals((byte) 0xaa, (byte) memory.readU8(20 * MIB + 3000 + 8192)); // nothing past memsz touched
        assertEquals(16 * MIB, kernel.loadAddress());
        assertEquals(20 * MIB + 3000 + 8192, kernel.loadEnd());
        assertEquals(kernel.loadEnd(), kernel.reservedEnd());
        assertEquals(LoadedKernel.Mode.LONG_MODE_64, kernel.mode());
    }

    @Test
    void uses_a_physical_e_entry_as_is_and_translates_a_virtual_one() {
        var physical = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[4096], 4096);
        physical.entry = 16 * MIB + 0x40;
        assertEquals(16 * MIB + 0x40, ElfKernelLoader.load(memory, physical.build()).entryPoint());

        var virtual = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[4096], 4096);
        virtual.entry = KERNEL_VIRTUAL + 0x80;
        assertEquals(16 * MIB + 0x80, ElfKernelLoader.load(memory, virtual.build()).entryPoint());
    }

    @Test
    void gives_the_header_limits_every_x86_64_kernel_declares() {
        var elf = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[16], 16);
        LoadedKernel kernel = ElfKernelLoader.load(memory, elf.build());
        assertEquals(2047, kernel.cmdlineMaxLength());
        assertEquals(0x7fff_ffffL, kernel.initrdAddressMax());
        ByteBuffer header = ByteBuffer.wrap(kernel.setupHeader()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals((short) 0xaa55, header.getShort(SetupHeader.BOOT_FLAG - SetupHeader.START));
        assertEquals((int) SetupHeader.HDRS_MAGIC, header.getInt(SetupHeader.HEADER - SetupHeader.START));
    }

    @Test
    void reads_the_xen_pvh_entry_note_in_both_descriptor_sizes() {
        ByteBuffer four = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0x100_0300);
        var elf4 = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[4096], 4096)
                .note("Linux", 1, new byte[4])   // an unrelated note first
                .note("Xen", 18, four.array());
        LoadedKernel kernel = ElfKernelLoader.load(memory, elf4.build());
        assertEquals(OptionalLong.of(0x100_0300), kernel.pvhEntryPoint());
        assertEquals(LoadedKernel.Mode.LONG_MODE_64, kernel.mode()); // the 64-bit entry still wins

        ByteBuffer eight = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0x100_0400);
        var elf8 = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[4096], 4096)
                .note("Xen", 18, eight.array());
        elf8.entry = 0x1234; // in no segment: only the PVH entry is usable
        LoadedKernel pvhOnly = ElfKernelLoader.load(memory, elf8.build());
        assertEquals(LoadedKernel.Mode.PVH_32, pvhOnly.mode());
        assertEquals(0x100_0400, pvhOnly.entryPoint());
    }

    /**
     * A hostile file's notes: 200,000 empty ones before the PVH note are stepped over (each used to be copied into
     * a list, which a file of such notes made an OutOfMemoryError), and a PVH note with a descriptor of 64 MiB is
     * damage, refused before it is read.
     */
    @Test
    void notes_are_searched_without_copying_and_a_huge_pvh_descriptor_is_refused() {
        ByteBuffer four = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0x100_0300);
        var many = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[4096], 4096);
        for (int i = 0; i < 200_000; i++) {
            many.note("", 0, new byte[0]);
        }
        many.note("Xen", 18, four.array());
        assertEquals(OptionalLong.of(0x100_0300), ElfKernelLoader.load(memory, many.build()).pvhEntryPoint());

        var huge = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[4096], 4096)
                .note("Xen", 18, new byte[64 << 20]);
        var e = assertThrows(KernelFormatException.class, () -> ElfKernelLoader.load(memory, huge.build()));
        assertTrue(e.getMessage().contains("a Xen note of type 18 with a descriptor of 67108864 bytes"),
                e.getMessage());
    }

    @Test
    void ignores_a_type_18_note_from_another_owner() {
        var elf = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[16], 16)
                .note("GNU", 18, new byte[4]);
        assertEquals(OptionalLong.empty(), ElfKernelLoader.load(memory, elf.build()).pvhEntryPoint());
    }

    @Test
    void rejects_a_segment_beyond_the_end_of_memory_and_writes_nothing() {
        var elf = new SyntheticKernels.Elf()
                .segment(16 * MIB, KERNEL_VIRTUAL, new byte[] {1, 2, 3}, 3)
                .segment(63 * MIB, KERNEL_VIRTUAL + 47 * MIB, new byte[16], 2 * MIB);
        var e = assertThrows(DoesNotFitException.class, () -> ElfKernelLoader.load(memory, elf.build()));
        assertEquals("kernel does not fit in guest memory: its segments reach 0x4100000 (65.0 MiB) but the guest "
                + "has 64.0 MiB", e.getMessage());
        assertEquals(0, memory.readU8(16 * MIB));
    }

    @Test
    void rejects_a_segment_whose_range_wraps_around() {
        var elf = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[16], -16);
        var e = assertThrows(KernelFormatException.class, () -> ElfKernelLoader.load(memory, elf.build()));
        assertTrue(e.getMessage().startsWith("damaged ELF kernel"), e.getMessage());
    }

    @Test
    void rejects_a_segment_in_the_low_megabyte() {
        var elf = new SyntheticKernels.Elf().segment(0x7000, 0x7000, new byte[16], 16);
        elf.entry = 0x7000;
        var e = assertThrows(KernelFormatException.class, () -> ElfKernelLoader.load(memory, elf.build()));
        assertTrue(e.getMessage().contains("low megabyte"), e.getMessage());
    }

    @Test
    void rejects_an_entry_point_outside_every_segment() {
        var elf = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[16], 16);
        elf.entry = 32 * MIB;
        var e = assertThrows(KernelFormatException.class, () -> ElfKernelLoader.load(memory, elf.build()));
        assertEquals("ELF kernel's entry point 0x2000000 lies in none of its PT_LOAD segments", e.getMessage());
    }

    @Test
    void rejects_32_bit_and_foreign_elf_files() {
        var elf32 = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[16], 16);
        elf32.elfClass = 1;
        assertTrue(assertThrows(KernelFormatException.class, () -> ElfKernelLoader.load(memory, elf32.build()))
                .getMessage().contains("not 64-bit"));
        var arm = new SyntheticKernels.Elf().segment(16 * MIB, KERNEL_VIRTUAL, new byte[16], 16);
        arm.machine = 183; // EM_AARCH64
        assertEquals("ELF kernel is for machine 183, not x86-64 (62)",
                assertThrows(KernelFormatException.class, () -> ElfKernelLoader.load(memory, arm.build()))
                        .getMessage());
    }

    @Test
    void rejects_truncated_files() {
        ByteBuffer whole = new SyntheticKernels.Elf()
                .segment(16 * MIB, KERNEL_VIRTUAL, new byte[4096], 4096).build();
        for (int length : new int[] {40, 100, whole.limit() - 1}) {
            var e = assertThrows(KernelFormatException.class,
                    () -> ElfKernelLoader.load(memory, SyntheticKernels.truncate(whole, length)));
            assertTrue(e.getMessage().startsWith("truncated ELF"), length + ": " + e.getMessage());
        }
    }
}
