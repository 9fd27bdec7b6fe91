package dev.panavisor.devices.virtio.block;

import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import dev.panavisor.sys.Libc;
import dev.panavisor.sys.NativeCallException;
import dev.panavisor.sys.PositionalIo;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
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
 * whose data lies in several guest buffers moves in one {@code preadv} or {@code pwritev} ({@link PositionalIo}) on a
 * native descriptor of the same file (the channel is that file reopened), not one system call per buffer:
 * positional, so requests served at the same time on several threads need no lock (the JDK's own vectored I/O uses
 * the channel's position). A transfer past 16 MiB (a hostile driver's, normally) takes one call per 16 MiB, and
 * stops between them once the VM ends ({@link #abandonTransfers()}). A flush is
 * {@link FileChannel#force(boolean) force(false)}, i.e. fdatasync (see {@link #flush()}). The size is fixed when the
 * image is opened; the device never writes past it, so the file never grows.
 *
 * <p>A read-only image is opened without write access at all, so no bug above this class can change it. An advisory
 * lock (shared for read-only, exclusive for read-write) keeps two Panavisor processes from writing one image.
 */
public final class FileDiskBackend implements DiskBackend {
    private final Path path;
    private final FileChannel channel;
    private final boolean readOnly;
    private final long size;
    /**
     * The file's native descriptor, for preadv and pwritev; the channel is the same file opened again through it.
     * Closing any descriptor of a file drops the process's fcntl locks on it, so this one is closed only with the
     * channel, in {@link #close()}.
     */
    private final int fd;
    /** Set when the VM ends ({@link #abandonTransfers()}); asked between a transfer's calls. */
    private volatile boolean abandoned;
    private final java.util.function.BooleanSupplier stop = () -> abandoned;

    private FileDiskBackend(Path path, FileChannel channel, boolean readOnly, long size, int fd) {
        this.path = path;
        this.channel = channel;
        this.readOnly = readOnly;
        this.size = size;
        this.fd = fd;
    }

    /**
     * Opens {@code path} as a disk.
     *
     * @throws DiskException with a one-line message naming the path when the file is missing, not a regular file,
     *     cannot be opened as asked (for example a read-write open of a file that is not writable), or is locked
     */
    public static FileDiskBackend open(Path path, boolean readOnly) {
        return open(path, readOnly, true);
    }

    /**
     * As {@link #open(Path, boolean)}; without {@code lock}, the file is checked but not locked, for a check made
     * while another process of this VM (serve's warm VM process) may hold its lock.
     */
    public static FileDiskBackend open(Path path, boolean readOnly, boolean lock) {
        return open(path, readOnly, lock, () -> { });
    }

    /** As {@link #open(Path, boolean, boolean)}; {@code betweenOpens} runs after the first open (for tests). */
    static FileDiskBackend open(Path path, boolean readOnly, boolean lock, Runnable betweenOpens) {
        if (Files.isDirectory(path)) {
            throw new DiskException("disk image " + path + " is a directory, not a file");
        }
        // Looked at before the open: a read-only open of a named pipe waits, without limit, for a writer.
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new DiskException("disk image " + path + " is not a regular file");
        }
        // The descriptor for preadv and pwritev first; the channel (for the lock, the size and the flush) is then
        // opened through /proc/self/fd, which reopens that very file: had the path been renamed or replaced between
        // two opens by name, the lock would guard one file while the I/O went to another.
        // Without /proc the channel is opened by name, as before, and that race remains.
        int fd = openNative(path, readOnly);
        Path opened;
        FileChannel channel;
        try {
            betweenOpens.run();
            Path byDescriptor = Path.of("/proc/self/fd/" + fd);
            opened = Files.exists(byDescriptor) ? byDescriptor : path;
            channel = openChannel(opened, path, readOnly);
        } catch (RuntimeException e) {
            closeQuietly(fd);
            throw e;
        }
        try {
            if (!Files.isRegularFile(opened)) {
                throw new DiskException("disk image " + path + " is not a regular file");
            }
            if (lock) {
                lock(path, channel, readOnly);
            }
            long size = channel.size();
            if (size < VirtioBlock.SECTOR_SIZE) {
                throw new DiskException("disk image " + path + " is smaller than one 512-byte sector (" + size
                        + " bytes)");
            }
            return new FileDiskBackend(path, channel, readOnly, size, fd);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel); // the lock goes with the first of the two closes, in either order
            closeQuietly(fd);
            if (e instanceof DiskException disk) {
                throw disk;
            }
            throw new DiskException("cannot use disk image " + path + ": " + e.getMessage(), e);
        }
    }

    /** The native descriptor; when the open fails, the JDK's open of the same path says why, in the words below. */
    private static int openNative(Path path, boolean readOnly) {
        try {
            return Libc.open(path.toString(), readOnly ? Libc.O_RDONLY : Libc.O_RDWR);
        } catch (NativeCallException e) {
            try {
                closeQuietly(openChannel(path, path, readOnly));
            } catch (DiskException worded) {
                worded.addSuppressed(e);
                throw worded;
            }
            throw new DiskException("cannot open disk image " + path + ": " + e.getMessage(), e);
        }
    }

    /** Opens {@code file} as the disk image {@code path}: a failure is one line naming the path. */
    private static FileChannel openChannel(Path file, Path path, boolean readOnly) {
        try {
            return readOnly
                    ? FileChannel.open(file, StandardOpenOption.READ)
                    : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
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
    }

    private static void lock(Path path, FileChannel channel, boolean shared) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            // This JVM holds a lock on the file already: the same VM was given the image twice.
            throw new DiskException("disk image " + path + " is already open in this VMM (given twice?)");
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
        if (!vectored(destinations)) {
            DiskBackend.super.read(offset, destinations);
            return;
        }
        transfer(offset, destinations, true);
    }

    @Override
    public void write(long offset, ByteBuffer[] sources) throws IOException {
        if (readOnly) {
            throw new IOException("disk image " + path + " is read-only");
        }
        if (!vectored(sources)) {
            DiskBackend.super.write(offset, sources);
            return;
        }
        transfer(offset, sources, false);
    }

    /**
     * A request's segments in guest memory: their host addresses go straight into the iovec array (one preadv),
     * with no buffer object per segment; memory that is not native (heap, in tests) reads through the views.
     */
    @Override
    public void read(long offset, GuestSegments destination) throws IOException {
        if (!transferNative(offset, destination, true)) {
            read(offset, destination.views());
        }
    }

    @Override
    public void write(long offset, GuestSegments source) throws IOException {
        if (readOnly) {
            throw new IOException("disk image " + path + " is read-only");
        }
        if (!transferNative(offset, source, false)) {
            write(offset, source.views());
        }
    }

    /**
     * One preadv or pwritev over the segments' host addresses, in the thread's own iovec array
     * ({@link PositionalIo#iovecs}); false (nothing done) when the memory is not native.
     */
    private boolean transferNative(long offset, GuestSegments segments, boolean read) throws IOException {
        int count = segments.count();
        GuestMemory memory = segments.memory();
        long[] addresses = segments.addresses();
        int[] lengths = segments.lengths();
        long size = memory.size();
        long base = count == 0 ? -1 : memory.hostAddress(0, size);
        if (base < 0) {
            return false;
        }
        MemorySegment iovecs = PositionalIo.iovecs(count);
        long expected = 0;
        for (int i = 0; i < count; i++) {
            long address = addresses[i];
            int length = lengths[i];
            if (!GuestMemory.within(address, length, size)) { // checked with the chain; again where it is used
                throw GuestMemoryException.outOfRange(address, length, size);
            }
            PositionalIo.setIovec(iovecs, i, base + address, length);
            expected += length;
        }
        finishTransfer(offset, iovecs, count, expected, read);
        return true;
    }

    /** Moves the {@code expected} bytes that the iovecs describe; a file that ends first fails as truncated. */
    private void finishTransfer(long offset, MemorySegment iovecs, int count, long expected, boolean read)
            throws IOException {
        try {
            long moved = PositionalIo.transferFully(fd, iovecs, count, expected, offset, !read, stop);
            if (moved < expected && abandoned) {
                throw new TransferAbandonedException(path.toString(), moved, expected);
            }
            if (moved < expected) {
                throw new EOFException("disk image " + path + " ends at " + (offset + moved) + "; was it truncated?");
            }
        } catch (NativeCallException e) {
            throw new IOException("disk image " + path + " at " + offset + ": " + e.getMessage(), e);
        }
    }

    /** Whether the buffers can go to preadv/pwritev: native memory (guest memory is), and at least one of them. */
    private static boolean vectored(ByteBuffer[] buffers) {
        if (buffers.length == 0) {
            return false;
        }
        for (ByteBuffer buffer : buffers) {
            if (!buffer.isDirect()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Moves every buffer's remaining bytes, contiguous on the disk from {@code offset}, with one preadv or pwritev
     * (more past {@code PositionalIo.CALL_BYTES_MAX}, or if the kernel stops short). On return every buffer's
     * position is at its limit, as with the one-buffer methods.
     */
    private void transfer(long offset, ByteBuffer[] buffers, boolean read) throws IOException {
        MemorySegment iovecs = PositionalIo.iovecs(buffers.length);
        long expected = 0;
        for (int i = 0; i < buffers.length; i++) {
            MemorySegment buffer = MemorySegment.ofBuffer(buffers[i]);
            PositionalIo.setIovec(iovecs, i, buffer.address(), buffer.byteSize());
            expected += buffer.byteSize();
        }
        finishTransfer(offset, iovecs, buffers.length, expected, read);
        for (ByteBuffer buffer : buffers) {
            buffer.position(buffer.limit());
        }
    }

    /**
     * {@code fdatasync} ({@code force(false)}), as QEMU does for a raw image: it makes every completed write durable
     * and the metadata needed to read it back (virtio 1.2 §5.2.6.2 asks no more of VIRTIO_BLK_T_FLUSH); the image
     * never grows, so that metadata does not change. An {@code fsync} would also write the new modification time:
     * on a journalling file system, one journal commit more per flush (DiskFlushBenchmark).
     */
    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            channel.force(false);
        }
    }

    @Override
    public void abandonTransfers() {
        abandoned = true;
    }

    @Override
    public void close() {
        closeQuietly(fd);
        closeQuietly(channel);
    }

    private static void closeQuietly(int fd) {
        try {
            Libc.close(fd);
        } catch (NativeCallException ignored) {
            // As for the channel below.
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing useful to do: every write was already handed to the kernel.
        }
    }
}
