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
 * @param name     where the bytes came from, for messages
 * @param contents the whole file, index 0 = first byte, read-only
 * @param format   what {@link #detect(ByteBuffer)} found
 */
public record KernelImage(String name, ByteBuffer contents, Format format) {

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

    public KernelImage {
        contents = contents.asReadOnlyBuffer();
    }

    /** Maps {@code path} read-only (no copy: the page cache backs it) and detects its format. */
    public static KernelImage read(Path path) {
        if (Files.isDirectory(path)) {
            throw new BootException("kernel " + path + " is a directory, not a file");
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
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.ofAuto());
            return of(path.toString(), mapped.asByteBuffer());
        } catch (NoSuchFileException e) {
            throw new BootException("kernel file not found: " + path, e);
        } catch (IOException e) {
            throw new BootException("cannot read kernel " + path + ": " + e.getMessage(), e);
        }
    }

    /** An image from bytes already in memory (tests, or a kernel embedded in a resource). */
    public static KernelImage of(String name, ByteBuffer contents) {
        try {
            return new KernelImage(name, contents, detect(contents));
        } catch (KernelFormatException e) {
            throw new KernelFormatException(name + ": " + e.getMessage());
        }
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
        }
    }
}
