package dev.panavisor.devices.virtio.block;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A raw disk image file: byte {@code n} of the disk is byte {@code n} of the file.
 *
 * <p>I/O uses positional {@link FileChannel} reads and writes, so a guest buffer handed over as a direct
 * {@link ByteBuffer} view of guest memory goes between the file and the guest without an intermediate copy. A request
 * whose data lies in several guest buffers moves in one scattering {@code readv} or gathering {@code writev} at the
 * channel's position, not one system call per buffer (the JDK has no positional vectored I/O, so the position is set
 * first, both under one lock). A flush
 * is {@link FileChannel#force(boolean) force(true)}, i.e. fsync. The size is fixed when the image is opened; the
 * device never writes past it, so the file never grows.
 *
 * <p>A read-only image is opened without write access at all, so no bug above this class can change it. An advisory
 * lock (shared for read-only, exclusive for read-write) keeps two Panavisor processes from writing one image.
 */
public final class FileDiskBackend implements DiskBackend {
    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final long size;
    /** Held while the channel's position is set and used by a vectored read or write. */
    private final Object positionLock = new Object();

    private FileDiskBackend(Path path, FileChannel channel, boolean readOnly, long size) {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
        this.size = size;
    }

    /**
     * Opens {@code path} as a disk.
     *
     * @throws DiskException with a one-line message naming the path when the file is missing, not a regular file,
     *     cannot be opened as asked (for example a read-write open of a file that is not writable), or is locked
     */
    public static FileDiskBackend open(Path path, boolean readOnly) {
        if (Files.isDirectory(path)) {
            throw new DiskException("disk image " + path + " is a directory, not a file");
        }
        FileChannel channel;
        try {
            channel = readOnly
                    ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new DiskException("disk image " + path + " does not exist", e);
        } catch (AccessDeniedException e) {
            throw new DiskException(readOnly
                    ? "disk image " + path + " is not readable (permission denied)"
                    : "disk image " + path + " is not writable (permission denied); attach it read-only instead", e);
        } catch (FileSystemException e) {
            String reason = e.getReason() == null ? e.getClass().getSimpleName() : e.getReason();
            throw new DiskException("cannot open disk image " + path + (readOnly ? "" : " for writing") + ": "
                    + reason, e);
        } catch (IOException e) {
            throw new DiskException("cannot open disk image " + path + ": " + e.getMessage(), e);
        }
        try {
            if (!Files.isRegularFile(path)) {
                throw new DiskException("disk image " + path + " is not a regular file");
            }
            lock(path, channel, readOnly);
            long size = channel.size();
            if (size < VirtioBlock.SECTOR_SIZE) {
                throw new DiskException("disk image " + path + " is smaller than one 512-byte sector (" + size
                        + " bytes)");
            }
            return new FileDiskBackend(path, channel, readOnly, size);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (e instanceof DiskException disk) {
                throw disk;
            }
            throw new DiskException("cannot use disk image " + path + ": " + e.getMessage(), e);
        }
    }

    private static void lock(Path path, FileChannel channel, boolean shared) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            throw new DiskException("disk image " + path + " is in use by another virtual machine (file is locked)");
        }
        // The lock lives as long as the channel: closing the channel releases it.
    }

    @Override
    public String name() {
        return path.toString();
    }

    @Override
    public long sizeBytes() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, ByteBuffer destination) throws IOException {
        long position = offset;
        while (destination.hasRemaining()) {
            int n = channel.read(destination, position);
            if (n < 0) {
                throw new EOFException("disk image " + path + " ends at " + position + "; was it truncated?");
            }
            position += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer source) throws IOException {
        if (readOnly) {
            throw new IOException("disk image " + path + " is read-only");
        }
        long position = offset;
        while (source.hasRemaining()) {
            position += channel.write(source, position);
        }
    }

    @Override
    public void read(long offset, ByteBuffer[] destinations) throws IOException {
        synchronized (positionLock) {
            channel.position(offset);
            int first = 0;
            while (first < destinations.length) {
                if (!destinations[first].hasRemaining()) {
                    first++;
                    continue;
                }
                // One readv(2) of up to IOV_MAX buffers; it may stop short, so go on from the first unfilled one.
                if (channel.read(destinations, first, destinations.length - first) < 0) {
                    throw new EOFException("disk image " + path + " ends at " + channel.position()
                            + "; was it truncated?");
                }
            }
        }
    }

    @Override
    public void write(long offset, ByteBuffer[] sources) throws IOException {
        if (readOnly) {
            throw new IOException("disk image " + path + " is read-only");
        }
        synchronized (positionLock) {
            channel.position(offset);
            int first = 0;
            while (first < sources.length) {
                if (!sources[first].hasRemaining()) {
                    first++;
                    continue;
                }
                channel.write(sources, first, sources.length - first);
            }
        }
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            channel.force(true);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing useful to do: every write was already handed to the kernel.
        }
    }
}
