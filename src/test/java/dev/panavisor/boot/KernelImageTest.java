package dev.panavisor.boot;

import dev.panavisor.testing.NamedPipes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.memory.HeapGuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelImageTest {
    @TempDir
    Path dir;

    @Test
    void recognises_a_bzimage_and_an_elf_vmlinux_by_content() {
        assertEquals(KernelImage.Format.BZIMAGE, KernelImage.detect(new SyntheticKernels.BzImage().build()));
        var elf = new SyntheticKernels.Elf().segment(0x100_0000, 0x100_0000, new byte[16], 16);
        assertEquals(KernelImage.Format.ELF_VMLINUX, KernelImage.detect(elf.build()));
    }

    @Test
    void rejects_anything_else_with_one_clear_line() {
        ByteBuffer gzip = ByteBuffer.wrap(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0});
        var e = assertThrows(KernelFormatException.class, () -> KernelImage.of("initrd.gz", gzip));
        assertEquals("initrd.gz: not a Linux kernel (neither a bzImage nor an ELF vmlinux)", e.getMessage());
        assertThrows(KernelFormatException.class, () -> KernelImage.of("empty", ByteBuffer.allocate(0)));
    }

    @Test
    void a_boot_sector_without_HdrS_is_not_a_kernel() {
        ByteBuffer bootSector = ByteBuffer.allocate(1024);
        bootSector.put(0x1fe, (byte) 0x55).put(0x1ff, (byte) 0xaa);
        assertThrows(KernelFormatException.class, () -> KernelImage.detect(bootSector));
    }

    @Test
    void reads_a_file_and_loads_it_naming_the_file_in_errors() throws IOException {
        Path kernel = syntheticKernelFile("bzImage");
        KernelImage image = KernelImage.read(kernel);
        assertEquals(KernelImage.Format.BZIMAGE, image.format());
        assertEquals(0x100200, image.load(new HeapGuestMemory(64 << 20)).entryPoint());

        var e = assertThrows(DoesNotFitException.class, () -> image.load(new HeapGuestMemory(20 << 20)));
        assertTrue(e.getMessage().startsWith(kernel + ": kernel does not fit in guest memory"), e.getMessage());
    }

    @Test
    void closing_an_image_unmaps_its_file() throws IOException {
        Path kernel = syntheticKernelFile("bzImage");
        KernelImage image = KernelImage.read(kernel);
        assertTrue(Files.readString(Path.of("/proc/self/maps")).contains(kernel.toString()), "mapped while open");
        image.load(new HeapGuestMemory(64 << 20));
        image.close();
        // Unmapped at once, not when a collection finds the segment unreachable: the VMM's resident memory.
        assertFalse(Files.readString(Path.of("/proc/self/maps")).contains(kernel.toString()));
        assertThrows(IllegalStateException.class, () -> image.contents().get(0));
    }

    @Test
    void reading_a_file_constructs_nothing_by_reflection() throws Exception {
        // A MappedByteBuffer is constructed by reflection, whose method handles a JVM generates at every start (the
        // AOT cache cannot hold them): 0.2 s in the lab. Reading a kernel must not take that path.
        Path kernel = syntheticKernelFile("bzImage");
        String read = classesLoadedWhileReading("read", kernel);
        assertTrue(read.contains("format bzImage"), read);
        assertFalse(read.contains("ConstructorHandleAccessor"), read);
        // The check can fail: mapping the file as a buffer, as KernelImage did before, constructs one.
        assertTrue(classesLoadedWhileReading("map-buffer", kernel).contains("ConstructorHandleAccessor"));
    }

    /** A named pipe is refused before it is opened: the open would wait for a writer that never comes. */
    @Test
    void a_named_pipe_is_not_a_kernel() throws Exception {
        Path fifo = NamedPipes.make(dir.resolve("kernel.fifo"));
        var e = NamedPipes.refusedWithoutWaiting(BootException.class, () -> KernelImage.read(fifo));
        assertTrue(e.getMessage().startsWith("kernel " + fifo + " is not a regular file"), e.getMessage());
    }

    /**
     * A kernel file cut short after it was mapped (a build rewriting it in place): the read of the missing pages is
     * a fault the JVM reports as an InternalError, which reached the user as "internal error" and status 70.
     */
    @Test
    void a_kernel_cut_short_while_it_is_read_is_one_line() throws IOException {
        Path kernel = syntheticKernelFile("bzImage");
        try (KernelImage image = KernelImage.read(kernel)) {
            try (FileChannel out = FileChannel.open(kernel, java.nio.file.StandardOpenOption.WRITE)) {
                out.truncate(0);
            }
            var e = assertThrows(BootException.class, () -> image.load(new HeapGuestMemory(64 << 20)));
            assertTrue(e.getMessage().startsWith("kernel " + kernel + " changed while it was being read"),
                    e.getMessage());
        }
    }

    /** A file in the test's directory holding a synthetic bzImage. */
    private Path syntheticKernelFile(String name) throws IOException {
        Path kernel = dir.resolve(name);
        try (FileChannel out = FileChannel.open(kernel, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            out.write(new SyntheticKernels.BzImage().build());
        }
        return kernel;
    }

    /** What a child JVM prints, class loads included, after it starts reading {@code kernel} ({@code how}). */
    private static String classesLoadedWhileReading(String how, Path kernel) throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info:stdout", "-cp", System.getProperty("java.class.path"),
                KernelReadMain.class.getName(), how, kernel.toString()).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, child.waitFor(), output);
        return output.substring(output.indexOf(KernelReadMain.MARKER));
    }

    @Test
    void a_missing_file_is_a_one_line_error() {
        Path missing = dir.resolve("nope");
        var e = assertThrows(BootException.class, () -> KernelImage.read(missing));
        assertEquals("kernel file not found: " + missing, e.getMessage());
        assertEquals(false, Files.exists(missing));
        assertEquals("kernel " + dir + " is a directory, not a file",
                assertThrows(BootException.class, () -> KernelImage.read(dir)).getMessage());
    }
}
