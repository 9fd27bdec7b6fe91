package dev.panavisor.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Which pages of this process are resident, from /proc/self/pagemap: one little-endian u64 per 4 KiB page of
 * virtual memory, bit 63 set when the page is present in RAM (Documentation/admin-guide/mm/pagemap.rst). Readable
 * without privileges; only the page frame numbers are hidden from an unprivileged reader.
 */
public final class Pagemap {
    private static final long PAGE = 4096;

    private Pagemap() {
    }

    /** How many of the 4 KiB pages of [address, address + length) are resident. */
    public static long residentPages(long address, long length) {
        long first = address / PAGE;
        long pages = (address + length + PAGE - 1) / PAGE - first;
        ByteBuffer entries = ByteBuffer.allocate((int) (pages * 8)).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"))) {
            while (entries.hasRemaining()) {
                if (pagemap.read(entries, first * 8 + entries.position()) < 0) {
                    throw new IOException("pagemap ended early");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        entries.flip();
        long resident = 0;
        while (entries.hasRemaining()) {
            if (entries.getLong() < 0) { // bit 63: present
                resident++;
            }
        }
        return resident;
    }

    /** Whether this host's kernel has MADV_POPULATE_WRITE (Linux 5.14). */
    public static boolean kernelCanPopulate() {
        String[] version = System.getProperty("os.version").split("[.-]");
        int major = Integer.parseInt(version[0]);
        return major > 5 || major == 5 && Integer.parseInt(version[1]) >= 14;
    }

    /** Whether every 4 KiB page of [address, address + length) is resident. */
    public static boolean allResident(long address, long length) {
        return residentPages(address, length) == length / PAGE;
    }
}
