package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.HeapGuestMemory;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BootParamsTest {
    private static final long MIB = 1 << 20;
    private static final long ZP = GuestLayout.BOOT_PARAMS_ADDRESS;
    private final HeapGuestMemory memory = new HeapGuestMemory(128 * MIB);

    private long writeForBzImage(Optional<LoadedInitrd> initrd) {
        LoadedKernel kernel = BzImageLoader.load(memory, new SyntheticKernels.BzImage().build());
        long cmdline = new CommandLine("console=ttyS0").writeTo(memory, kernel);
        return BootParams.write(memory, kernel, E820Map.forMemorySize(memory.size()), cmdline, initrd);
    }

    @Test
    void copies_the_setup_header_and_sets_the_loader_fields() {
        memory.fill(ZP, 4096, (byte) 0x5a); // whatever was there before must not survive
        assertEquals(ZP, writeForBzImage(Optional.empty()));

        assertEquals(0xaa55, memory.readU16(ZP + 0x1fe));                 // boot_flag, from the kernel
        assertEquals(0x5372_6448L, memory.readU32(ZP + 0x202));           // "HdrS"
        assertEquals(0x020f, memory.readU16(ZP + 0x206));                 // version
        assertEquals(2047, memory.readU32(ZP + 0x238));                   // cmdline_size
        assertEquals(0xff, memory.readU8(ZP + 0x210));                    // type_of_loader: undefined
        assertEquals(0x81, memory.readU8(ZP + 0x211));                    // loadflags: LOADED_HIGH | CAN_USE_HEAP
        assertEquals(0xde00, memory.readU16(ZP + 0x224));                 // heap_end_ptr
        assertEquals(0xffff, memory.readU16(ZP + 0x1fa));                 // vid_mode: normal
        assertEquals(GuestLayout.CMDLINE_ADDRESS, memory.readU32(ZP + 0x228)); // cmd_line_ptr
        assertEquals(0, memory.readU32(ZP + 0x0c8));                      // ext_cmd_line_ptr
        assertEquals(0, memory.readU32(ZP + 0x218));                      // no ramdisk_image
        assertEquals(0, memory.readU32(ZP + 0x21c));                      // no ramdisk_size
        assertEquals(0, memory.readU8(ZP + 0x1ef));                       // sentinel
        assertEquals(0, memory.readU64(ZP));                              // screen_info: zero
        assertEquals(0, memory.readU8(ZP + 0x268));                       // after the header: zero
    }

    @Test
    void records_the_initrd() {
        writeForBzImage(Optional.of(new LoadedInitrd(0x7f0_0000, 0x12345)));
        assertEquals(0x7f0_0000, memory.readU32(ZP + 0x218));
        assertEquals(0x12345, memory.readU32(ZP + 0x21c));
        assertEquals(0, memory.readU32(ZP + 0x0c0));
        assertEquals(0, memory.readU32(ZP + 0x0c4));
    }

    @Test
    void writes_the_e820_map_at_0x2d0_in_20_byte_entries() {
        writeForBzImage(Optional.empty());
        assertEquals(3, memory.readU8(ZP + 0x1e8));
        long[][] expected = {
                {0, 0x9fc00, 1},
                {0x9fc00, 0x60400, 2},
                {0x100000, 128 * MIB - 0x100000, 1}};
        for (int i = 0; i < expected.length; i++) {
            long entry = ZP + 0x2d0 + 20L * i;
            assertEquals(expected[i][0], memory.readU64(entry), "address of entry " + i);
            assertEquals(expected[i][1], memory.readU64(entry + 8), "size of entry " + i);
            assertEquals(expected[i][2], memory.readU32(entry + 16), "type of entry " + i);
        }
        assertEquals(0, memory.readU64(ZP + 0x2d0 + 60));
    }

    @Test
    void an_elf_kernel_gets_a_minimal_header_that_still_names_the_loader() {
        var elf = new SyntheticKernels.Elf().segment(16 * MIB, 0xffff_ffff_8100_0000L, new byte[16], 16);
        LoadedKernel kernel = ElfKernelLoader.load(memory, elf.build());
        BootParams.write(memory, kernel, E820Map.forMemorySize(memory.size()), GuestLayout.CMDLINE_ADDRESS,
                Optional.empty());
        assertEquals(0xaa55, memory.readU16(ZP + 0x1fe));
        assertEquals(0x5372_6448L, memory.readU32(ZP + 0x202));
        assertEquals(0xff, memory.readU8(ZP + 0x210));
        assertEquals(0x80, memory.readU8(ZP + 0x211));
    }
}
