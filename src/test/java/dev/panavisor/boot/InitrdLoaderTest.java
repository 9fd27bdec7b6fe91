package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitrdLoaderTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    /** A kernel occupying [1 MiB, reservedEnd) with the given initrd_addr_max. */
    private static LoadedKernel kernel(long reservedEnd, long initrdAddrMax) {
        return new LoadedKernel("test", LoadedKernel.Mode.LONG_MODE_64, 0x100200, GuestLayout.KERNEL_ADDRESS,
                reservedEnd, reservedEnd, new byte[0], 2047, initrdAddrMax, OptionalLong.empty());
    }

    @Test
    void puts_the_initrd_page_aligned_at_the_top_of_ram() {
        var memory = new HeapGuestMemory(64 * MIB);
        byte[] initrd = SyntheticKernels.pattern(10_000, 3);
        LoadedInitrd placed = InitrdLoader.load(memory, kernel(24 * MIB, 0x7fff_ffff), ByteBuffer.wrap(initrd));

        assertEquals(0, placed.address() % 4096);
        assertEquals(64 * MIB - 12288, placed.address()); // 10 000 bytes need three pages below the end
        assertEquals(10_000, placed.size());
        assertArrayEquals(initrd, memory.readBytes(placed.address(), initrd.length));
    }

    /** A named pipe is refused before it is opened: the open would wait for a writer that never comes. */
    @Test
    void a_named_pipe_is_not_an_initrd() throws Exception {
        Path fifo = dev.panavisor.testing.NamedPipes.make(dir.resolve("initrd.fifo"));
        var e = dev.panavisor.testing.NamedPipes.refusedWithoutWaiting(BootException.class,
                () -> InitrdLoader.load(new HeapGuestMemory(64 * MIB), kernel(24 * MIB, 0x7fff_ffff), fifo));
        assertEquals("initrd " + fifo + " is not a regular file", e.getMessage());
    }

    @Test
    void keeps_the_initrd_at_or_below_initrd_addr_max() {
        long address = InitrdLoader.place(MIB, 256 * MIB, kernel(24 * MIB, 0x3fff_ffffL / 8)); // limit ~128 MiB
        assertTrue(address + MIB - 1 <= 0x3fff_ffffL / 8, Long.toHexString(address));
        assertEquals((0x3fff_ffffL / 8 + 1 - MIB) & -4096, address);
    }

    @Test
    void never_goes_below_the_kernel_reserved_end() {
        // 40 MiB free above the kernel's 24 MiB: an initrd of exactly 40 MiB fits, one page more does not.
        assertEquals(24 * MIB, InitrdLoader.place(40 * MIB, 64 * MIB, kernel(24 * MIB, 0x7fff_ffff)));
        var e = assertThrows(DoesNotFitException.class,
                () -> InitrdLoader.place(40 * MIB + 1, 64 * MIB, kernel(24 * MIB, 0x7fff_ffff)));
        assertEquals("initrd of 40.0 MiB does not fit in guest memory: between the kernel's end at 0x1800000 and "
                + "the end of RAM at 0x4000000 there are only 40.0 MiB", e.getMessage());
    }

    @Test
    void names_initrd_addr_max_when_that_is_the_limit() {
        var e = assertThrows(DoesNotFitException.class,
                () -> InitrdLoader.place(16 * MIB, 256 * MIB, kernel(24 * MIB, 32 * MIB - 1)));
        assertTrue(e.getMessage().contains("initrd_addr_max 0x1ffffff"), e.getMessage());
    }

    @Test
    void reads_a_file_straight_into_guest_memory() throws IOException {
        Path file = dir.resolve("initrd.cpio");
        byte[] contents = SyntheticKernels.pattern(100_000, 9);
        Files.write(file, contents);
        var memory = new HeapGuestMemory(32 * MIB);
        LoadedInitrd placed = InitrdLoader.load(memory, kernel(4 * MIB, 0x7fff_ffff), file);
        assertArrayEquals(contents, memory.readBytes(placed.address(), contents.length));
        assertEquals(32 * MIB, (placed.end() + 4095) & -4096);
    }

    @Test
    void a_too_large_file_is_an_error_that_names_the_file() throws IOException {
        Path file = dir.resolve("big.img");
        Files.write(file, new byte[(int) (8 * MIB)]);
        var memory = new HeapGuestMemory(8 * MIB);
        var e = assertThrows(DoesNotFitException.class,
                () -> InitrdLoader.load(memory, kernel(4 * MIB, 0x7fff_ffff), file));
        assertTrue(e.getMessage().startsWith(file + ": initrd of 8.0 MiB does not fit"), e.getMessage());
    }

    @Test
    void an_empty_initrd_is_an_error() {
        assertThrows(BootException.class,
                () -> InitrdLoader.place(0, 64 * MIB, kernel(4 * MIB, 0x7fff_ffff)));
    }

    @Test
    void an_empty_initrd_file_is_an_error_that_names_the_file(@org.junit.jupiter.api.io.TempDir Path dir)
            throws IOException {
        Path empty = java.nio.file.Files.createFile(dir.resolve("empty.img"));
        var e = assertThrows(BootException.class, () -> InitrdLoader.load(new HeapGuestMemory(64 * MIB),
                kernel(4 * MIB, 0x7fff_ffff), empty));
        assertEquals("initrd " + empty + " is empty", e.getMessage());
    }
}
