package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.HeapGuestMemory;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class BzImageLoaderTest {
    private static final long MIB = 1 << 20;
    private final HeapGuestMemory memory = new HeapGuestMemory(64 * MIB);

    @Test
    void loads_the_protected_mode_kernel_at_1_MiB_with_the_64_bit_entry_0x200_into_it() {
        var image = new SyntheticKernels.BzImage();
        LoadedKernel kernel = BzImageLoader.load(memory, image.build());

        assertEquals(LoadedKernel.Mode.LONG_MODE_64, kernel.mode());
        assertEquals(GuestLayout.KERNEL_ADDRESS, kernel.loadAddress());
        assertEquals(GuestLayout.KERNEL_ADDRESS + 0x200, kernel.entryPoint());
        assertEquals(GuestLayout.KERNEL_ADDRESS + image.payload.length, kernel.loadEnd());
        assertArrayEquals(image.payload, memory.readBytes(GuestLayout.KERNEL_ADDRESS, image.payload.length));
        assertEquals("bzImage, boot protocol 2.15", kernel.description());
    }

    @Test
    void takes_limits_and_the_setup_header_bytes_from_the_header() {
        var image = new SyntheticKernels.BzImage();
        image.cmdlineSize = 1234;
        image.initrdAddrMax = 0x3fff_ffff;
        ByteBuffer file = image.build();
        LoadedKernel kernel = BzImageLoader.load(memory, file);

        assertEquals(1234, kernel.cmdlineMaxLength());
        assertEquals(0x3fff_ffff, kernel.initrdAddressMax());
        // The header runs from 0x1f1 to 0x202 + the jump displacement (0x66): 0x268.
        byte[] expected = new byte[0x268 - 0x1f1];
        file.get(0x1f1, expected);
        assertArrayEquals(expected, kernel.setupHeader());
    }

    @Test
    void setup_sects_zero_means_four_sectors() {
        var image = new SyntheticKernels.BzImage();
        image.setupSects = 0;
        ByteBuffer file = image.build(); // payload placed after (4 + 1) * 512 bytes
        BzImageLoader.load(memory, file);
        assertArrayEquals(image.payload, memory.readBytes(GuestLayout.KERNEL_ADDRESS, image.payload.length));
    }

    @Test
    void reserves_init_size_from_where_a_relocatable_kernel_will_run() {
        var image = new SyntheticKernels.BzImage();
        image.prefAddress = 0x100_0000;      // 16 MiB
        image.kernelAlignment = 0x20_0000;
        image.initSize = 0x123_4000;
        LoadedKernel kernel = BzImageLoader.load(memory, image.build());
        assertEquals(0x100_0000 + 0x123_4000, kernel.reservedEnd());

        image.prefAddress = 0;               // runs at the load address rounded up to the alignment: 2 MiB
        assertEquals(0x20_0000 + 0x123_4000, BzImageLoader.load(memory, image.build()).reservedEnd());
    }

    @Test
    void rejects_protocols_older_than_2_12_with_the_version_in_the_message() {
        var image = new SyntheticKernels.BzImage();
        image.version = 0x020b;
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, image.build()));
        assertEquals("bzImage uses boot protocol 2.11; Panavisor needs 2.12 or later (Linux 3.8+) for the 64-bit "
                + "entry", e.getMessage());
    }

    @Test
    void rejects_a_kernel_without_a_64_bit_entry() {
        var image = new SyntheticKernels.BzImage();
        image.xloadFlags = 0;
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, image.build()));
        assertTrue(e.getMessage().contains("XLF_KERNEL_64"), e.getMessage());
    }

    @Test
    void rejects_a_zimage() {
        var image = new SyntheticKernels.BzImage();
        image.loadFlags = 0;
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, image.build()));
        assertTrue(e.getMessage().startsWith("zImage"), e.getMessage());
    }

    /** A payload too short to hold the 64-bit entry (at 0x200 into it) is damage, not a kernel to jump into. */
    @Test
    void rejects_a_kernel_that_ends_before_its_64_bit_entry() {
        SyntheticKernels.BzImage image = new SyntheticKernels.BzImage();
        image.payload = new byte[0x200];
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, image.build()));
        assertEquals("damaged bzImage: its kernel of 512 bytes ends before the 64-bit entry at 0x200 into it",
                e.getMessage());
    }

    @Test
    void rejects_a_truncated_kernel_and_writes_nothing() {
        ByteBuffer file = new SyntheticKernels.BzImage().build();
        ByteBuffer cut = SyntheticKernels.truncate(file, file.limit() - 1);
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, cut));
        assertTrue(e.getMessage().startsWith("truncated bzImage"), e.getMessage());
        assertEquals(0, memory.readU64(GuestLayout.KERNEL_ADDRESS));
    }

    @Test
    void rejects_a_file_cut_inside_the_setup_header() {
        ByteBuffer cut = SyntheticKernels.truncate(new SyntheticKernels.BzImage().build(), 0x220);
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, cut));
        assertEquals("truncated bzImage: the setup header ends at 0x268 but the file has only 544 bytes",
                e.getMessage());
    }

    @Test
    void rejects_a_header_too_short_for_its_protocol() {
        var image = new SyntheticKernels.BzImage();
        image.jumpDisplacement = 0x30; // header would end at 0x232, before xloadflags and init_size
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, image.build()));
        assertEquals("damaged bzImage: its setup header ends at 0x232, before the fields protocol 2.15 has",
                e.getMessage());
    }

    @Test
    void rejects_a_kernel_that_needs_more_memory_than_the_guest_has() {
        var image = new SyntheticKernels.BzImage();
        image.initSize = 60 * MIB; // runs at 16 MiB, so needs RAM up to 76 MiB; the guest has 64
        var e = assertThrows(DoesNotFitException.class, () -> BzImageLoader.load(memory, image.build()));
        assertTrue(e.getMessage().startsWith("kernel does not fit in guest memory"), e.getMessage());
        assertTrue(e.getMessage().contains("64.0 MiB"), e.getMessage());
    }

    @Test
    void rejects_a_guest_memory_too_small_to_boot() {
        var small = new HeapGuestMemory(MIB);
        var e = assertThrows(DoesNotFitException.class,
                () -> BzImageLoader.load(small, new SyntheticKernels.BzImage().build()));
        assertTrue(e.getMessage().startsWith("guest memory of 1.0 MiB is too small"), e.getMessage());
    }

    @Test
    void rejects_a_bad_kernel_alignment() {
        var image = new SyntheticKernels.BzImage();
        image.kernelAlignment = 0x30_0000;
        var e = assertThrows(KernelFormatException.class, () -> BzImageLoader.load(memory, image.build()));
        assertTrue(e.getMessage().contains("kernel_alignment"), e.getMessage());
    }
}
