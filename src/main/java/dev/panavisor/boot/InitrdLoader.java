package dev.panavisor.boot;

import dev.panavisor.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Places the initial RAM disk (an initramfs cpio archive, possibly compressed) in guest memory.
 *
 * <p>The boot protocol leaves the choice of address to the loader within two limits (boot.rst, "initrd_addr_max"
 * and the sample boot configuration): the initrd's last byte must be at or below {@code initrd_addr_max}, and it
 * must not overlap anything the kernel needs. Like other boot loaders this one puts it as high as possible, so the
 * kernel's own early allocations just above itself stay clear of it: at the highest 4 KiB-aligned address below
 * min(end of RAM, initrd_addr_max + 1), and above everything the kernel reserved ({@link
 * LoadedKernel#reservedEnd()}, which for a bzImage includes the room it decompresses into).
 */
public final class InitrdLoader {
    /** Page alignment; the kernel frees the initrd's pages after unpacking it. */
    public static final long ALIGNMENT = 4096;

    private InitrdLoader() {
    }

    /** Reads the initrd file straight into guest memory at the place {@link #place} chooses. */
    public static LoadedInitrd load(GuestMemory memory, LoadedKernel kernel, Path path) {
        // Looked at before the open: opening a named pipe waits, without limit, for a writer.
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new BootException("initrd " + path + " is not a regular file");
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0) {
                throw new BootException("initrd " + path + " is empty");
            }
            long address = place(size, memory.size(), kernel);
            ByteBuffer target = memory.buffer(address, (int) size);
            while (target.hasRemaining()) {
                if (channel.read(target) < 0) {
                    throw new BootException(String.format(
                            "initrd %s shrank while it was being read (%d of %d bytes)", path, target.position(),
                            size));
                }
            }
            return new LoadedInitrd(address, size);
        } catch (NoSuchFileException e) {
            throw new BootException("initrd file not found: " + path, e);
        } catch (IOException e) {
            throw new BootException("cannot read initrd " + path + ": " + e.getMessage(), e);
        } catch (DoesNotFitException e) {
            throw new DoesNotFitException(path + ": " + e.getMessage());
        }
    }

    /** Copies an initrd already in memory (tests, generated initramfs) into guest memory. */
    public static LoadedInitrd load(GuestMemory memory, LoadedKernel kernel, ByteBuffer contents) {
        long size = contents.remaining();
        long address = place(size, memory.size(), kernel);
        memory.buffer(address, (int) size).put(contents.duplicate());
        return new LoadedInitrd(address, size);
    }

    /**
     * The guest-physical address for an initrd of {@code size} bytes, or {@link DoesNotFitException} when there
     * is no room between the kernel and the lower of the end of RAM and the kernel's initrd_addr_max.
     */
    public static long place(long size, long memorySize, LoadedKernel kernel) {
        if (size <= 0) {
            throw new BootException("initrd is empty");
        }
        long ramEnd = E820Map.ramEnd(memorySize);
        long ceiling = Math.min(ramEnd, kernel.initrdAddressMax() + 1);
        long floor = (kernel.reservedEnd() + ALIGNMENT - 1) & -ALIGNMENT;
        if (size > Integer.MAX_VALUE || size > ceiling - floor) {
            String limit = ceiling < ramEnd
                    ? String.format("the kernel's initrd_addr_max 0x%x", kernel.initrdAddressMax())
                    : String.format("the end of RAM at 0x%x", ramEnd);
            throw new DoesNotFitException(String.format(
                    "initrd of %s does not fit in guest memory: between the kernel's end at 0x%x and %s "
                            + "there are only %s",
                    DoesNotFitException.size(size), floor, limit, DoesNotFitException.size(Math.max(0, ceiling - floor))));
        }
        return (ceiling - size) & -ALIGNMENT;
    }
}
