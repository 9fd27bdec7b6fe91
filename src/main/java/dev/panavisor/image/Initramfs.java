package dev.panavisor.image;

import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Packs a {@link RootfsLayout} as a gzip-compressed cpio archive, the initramfs format the kernel unpacks into
 * its root tmpfs before running /init (Linux Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * <p>Reproducible: {@link CpioArchive} stamps every entry with the given time, owner root and sequential inode
 * numbers, and java.util.zip writes a gzip header with modification time 0 and no file name (RFC 1952 §2.3), so
 * the same layout always gives the same bytes. The kernel needs CONFIG_RD_GZIP to unpack it.
 */
public final class Initramfs {
    private Initramfs() {
    }

    /**
     * Writes the layout to {@code out} (which stays open).
     *
     * @param mtime modification time of every entry, seconds since the epoch
     */
    public static void write(RootfsLayout layout, OutputStream out, long mtime) throws IOException {
        GZIPOutputStream gzip = new GZIPOutputStream(new NonClosing(out), 64 * 1024);
        try (CpioArchive cpio = new CpioArchive(gzip, mtime)) {
            for (RootfsLayout.Entry entry : layout.entries()) {
                switch (entry) {
                    case RootfsLayout.Directory directory -> cpio.directory(directory.path(), directory.permissions());
                    case RootfsLayout.File file -> cpio.file(file.path(), file.permissions(), file.content());
                    case RootfsLayout.Symlink link -> cpio.symlink(link.path(), link.target());
                    case RootfsLayout.CharacterDevice device ->
                            cpio.characterDevice(device.path(), device.permissions(), device.major(), device.minor());
                }
            }
        }
        gzip.finish();
        gzip.flush();
    }

    /** Lets the gzip stream finish without closing the caller's stream. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            out.write(bytes, offset, length);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
