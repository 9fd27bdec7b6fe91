package dev.panavisor.image;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a cpio archive in the "newc" (SVR4, no CRC) format that the Linux kernel unpacks as an initramfs
 * (Linux Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * <p>Each entry is a 110-byte ASCII header ("070701" and thirteen 8-digit hex fields), the NUL-terminated name,
 * padding to a 4-byte boundary, the data, and padding again; the archive ends with an entry named
 * {@code TRAILER!!!}. Nothing depends on the host (owners, times, inode numbers are given or fixed), so the same
 * entries always give the same bytes: initramfs images built with it are reproducible.
 */
public final class CpioArchive implements AutoCloseable {
    public static final int S_IFREG = 0100000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFCHR = 0020000;

    private static final String MAGIC = "070701";
    private static final String TRAILER = "TRAILER!!!";

    private final OutputStream out;
    private final long mtime;
    private long written;
    private int nextInode = 1;
    private boolean closed;

    /**
     * @param out   where the archive goes (not closed by {@link #close()}; the caller owns it)
     * @param mtime modification time stamped on every entry, in seconds since the epoch (use a fixed value,
     *              e.g. SOURCE_DATE_EPOCH, for reproducible output)
     */
    public CpioArchive(OutputStream out, long mtime) {
        this.out = out;
        this.mtime = mtime;
    }

    public void directory(String path, int permissions) throws IOException {
        entry(path, S_IFDIR | permissions, 2, 0, 0, new byte[0]);
    }

    public void file(String path, int permissions, byte[] content) throws IOException {
        entry(path, S_IFREG | permissions, 1, 0, 0, content);
    }

    public void symlink(String path, String target) throws IOException {
        entry(path, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    /** A character device node, e.g. /dev/console (5, 1), which the kernel needs before /init runs. */
    public void characterDevice(String path, int permissions, int major, int minor) throws IOException {
        entry(path, S_IFCHR | permissions, 1, major, minor, new byte[0]);
    }

    private void entry(String path, int mode, int links, int rdevMajor, int rdevMinor, byte[] data)
            throws IOException {
        if (closed) {
            throw new IllegalStateException("cpio archive already finished");
        }
        String name = path.startsWith("/") ? path.substring(1) : path;
        if (name.isEmpty()) {
            throw new IllegalArgumentException("empty cpio entry name");
        }
        writeEntry(name, mode, links, rdevMajor, rdevMinor, data, nextInode++);
    }

    private void writeEntry(String name, int mode, int links, int rdevMajor, int rdevMinor, byte[] data, int inode)
            throws IOException {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        StringBuilder header = new StringBuilder(110).append(MAGIC);
        for (long field : new long[] {inode, mode, 0 /* uid */, 0 /* gid */, links, mtime, data.length,
                0 /* devmajor */, 0 /* devminor */, rdevMajor, rdevMinor, nameBytes.length, 0 /* check */}) {
            header.append(String.format("%08x", field));
        }
        write(header.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        pad();
        write(data);
        pad();
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        written += bytes.length;
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }

    /** Writes the trailer entry. Idempotent; does not close the underlying stream. */
    @Override
    public void close() throws IOException {
        if (!closed) {
            writeEntry(TRAILER, 0, 1, 0, 0, new byte[0], 0);
            closed = true;
            out.flush();
        }
    }
}
