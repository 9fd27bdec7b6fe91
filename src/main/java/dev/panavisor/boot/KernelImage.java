package dev.panavisor.boot;

import dev.panavisor.memory.GuestMemory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A kernel file and which of the two formats Panavisor loads it is.
 *
 * <p>The format is recognised by content, never by file name: a bzImage has the boot-sector signature 0xAA55 at
 * 0x1fe and "HdrS" at 0x202 (Linux boot protocol, "The real-mode kernel header"); an ELF vmlinux starts with
 * "\x7fELF". Anything else (an initrd given as the kernel, a gzip'd vmlinux, an arm64 Image) is rejected with one
 * line that says so.
 *
 * <p>A kernel read from a file is a read-only mapping of it, which {@link #close()} unmaps: once the kernel is in
 * guest memory nothing reads the file again, and a mapping left for the garbage collector to release stayed
 * resident for the VM's whole life (the bzImage's 2 MiB counted in the VMM's overhead, docs/performance.md).
 */
public final class KernelImage implements AutoCloseable {

    public enum Format {
        BZIMAGE("bzImage"), ELF_VMLINUX("ELF vmlinux");

        private final String text;

        Format(String text) {
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private final String name;
    private final ByteBuffer contents;
    private final Format format;
    /** The file's mapping, or null for an image of bytes already in memory. */
    private final Arena mapping;

    private KernelImage(String name, ByteBuffer contents, Arena mapping) {
        this.name = name;
        this.contents = contents.asReadOnlyBuffer();
        this.mapping = mapping;
        try {
            this.format = detect(contents);
        } catch (KernelFormatException e) {
            throw new KernelFormatException(name + ": " + e.getMessage());
        } catch (InternalError e) {
            throw shortened(name, e);
        }
    }

    /**
     * The JVM's answer to a fault reading a mapped file (an {@link InternalError}), as one line: the file is shorter
     * than when it was mapped, which reading the header (here) or the kernel ({@link #load}) can meet.
     */
    private static BootException shortened(String name, InternalError e) {
        return new BootException("kernel " + name + " changed while it was being read (it is shorter now): "
                + e.getMessage(), e);
    }

    /** Where the bytes came from, for messages. */
    public String name() {
        return name;
    }

    /** The whole file, index 0 = first byte, read-only; valid until {@link #close()}. */
    public ByteBuffer contents() {
        return contents;
    }

    /** What {@link #detect(ByteBuffer)} found. */
    public Format format() {
        return format;
    }

    /**
     * Maps {@code path} read-only (no copy: the page cache backs it) and detects its format. The mapping belongs to
     * the calling thread, which loads the kernel and then closes the image.
     */
    public static KernelImage read(Path path) {
        if (Files.isDirectory(path)) {
            throw new BootException("kernel " + path + " is a directory, not a file");
        }
        // Looked at before the open: opening a named pipe waits, without limit, for a writer.
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new BootException("kernel " + path + " is not a regular file (a pipe or a device cannot be mapped)");
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size > Integer.MAX_VALUE) {
                throw new KernelFormatException(String.format(
                        "%s: %s is larger than any kernel Panavisor can load (2 GiB)", path,
                        DoesNotFitException.size(size)));
            }
            // Mapped as a memory segment and viewed as a buffer, not mapped as a MappedByteBuffer: that one is
            // made by reflection (sun.nio.ch.Util), whose method handles the JVM generates at each start, which
            // cost about 0.2 s inside the lab (docs/performance.md, "Classes generated at start").
            Arena mapping = Arena.ofConfined();
            try {
                MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, mapping);
                return new KernelImage(path.toString(), mapped.asByteBuffer(), mapping);
            } catch (RuntimeException | IOException e) {
                mapping.close();
                throw e;
            }
        } catch (NoSuchFileException e) {
            throw new BootException("kernel file not found: " + path, e);
        } catch (IOException e) {
            throw new BootException("cannot read kernel " + path + ": " + e.getMessage(), e);
        }
    }

    /** An image from bytes already in memory (tests, or a kernel embedded in a resource). */
    public static KernelImage of(String name, ByteBuffer contents) {
        return new KernelImage(name, contents, null);
    }

    /** Recognises the format from the first bytes; throws {@link KernelFormatException} for anything else. */
    public static Format detect(ByteBuffer contents) {
        if (SetupHeader.isPresent(contents)) {
            return Format.BZIMAGE;
        }
        if (Elf64.hasMagic(contents)) {
            return Format.ELF_VMLINUX;
        }
        throw new KernelFormatException("not a Linux kernel (neither a bzImage nor an ELF vmlinux)");
    }

    /** Loads the kernel into {@code memory} with the loader for its format. */
    public LoadedKernel load(GuestMemory memory) {
        try {
            return switch (format) {
                case BZIMAGE -> BzImageLoader.load(memory, contents);
                case ELF_VMLINUX -> ElfKernelLoader.load(memory, contents);
            };
        } catch (DoesNotFitException e) {
            throw new DoesNotFitException(name + ": " + e.getMessage());
        } catch (KernelFormatException e) {
            throw new KernelFormatException(name + ": " + e.getMessage());
        } catch (InternalError e) {
            throw shortened(name, e);
        }
    }

    /** Unmaps the file (nothing for an image of bytes in memory); {@link #contents()} is then unusable. */
    @Override
    public void close() {
        if (mapping != null) {
            mapping.close();
        }
    }
}
