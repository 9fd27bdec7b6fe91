package dev.panavisor.devices.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where a virtio-blk device's bytes live: a flat array of bytes addressed by offset, kept apart from the virtio
 * protocol so the device can be tested on the heap and run on a file.
 *
 * <p>Callers (the block device) check every request against {@link #sizeBytes()} first; a backend need not, but
 * must never touch anything outside [0, sizeBytes()). Transfers move whole buffers: {@code read} fills
 * {@code destination} from its position to its limit, {@code write} drains {@code source}, or they throw.
 */
public interface DiskBackend extends AutoCloseable {

    /** What to call the disk in messages: its path, for a file. */
    String name();

    long sizeBytes();

    boolean isReadOnly();

    /** Reads {@code destination.remaining()} bytes at {@code offset}. */
    void read(long offset, ByteBuffer destination) throws IOException;

    /** Writes {@code source.remaining()} bytes at {@code offset}; fails on a read-only disk. */
    void write(long offset, ByteBuffer source) throws IOException;

    /**
     * Reads into each buffer in turn, filling it, from {@code offset} on: one request's data segments, which lie
     * scattered in guest memory but are contiguous on the disk. A file reads them in one {@code readv}; this default
     * reads them one by one.
     */
    default void read(long offset, ByteBuffer[] destinations) throws IOException {
        long position = offset;
        for (ByteBuffer destination : destinations) {
            int length = destination.remaining();
            read(position, destination);
            position += length;
        }
    }

    /** Writes each buffer in turn from {@code offset} on: the gathering counterpart of {@link #read(long, ByteBuffer[])}. */
    default void write(long offset, ByteBuffer[] sources) throws IOException {
        long position = offset;
        for (ByteBuffer source : sources) {
            int length = source.remaining();
            write(position, source);
            position += length;
        }
    }

    /**
     * Reads into a request's data segments in guest memory ({@link GuestSegments}), from {@code offset} on. The
     * block device calls this one; by default it reads into the segments' buffer views.
     */
    default void read(long offset, GuestSegments destination) throws IOException {
        read(offset, destination.views());
    }

    /** Writes a request's data segments from guest memory: the counterpart of {@link #read(long, GuestSegments)}. */
    default void write(long offset, GuestSegments source) throws IOException {
        write(offset, source.views());
    }

    /** Makes every completed write durable (the guest's cache flush, VIRTIO_BLK_T_FLUSH). */
    void flush() throws IOException;

    /**
     * The VM is ending: a request's transfer under way stops at its next call (at most
     * {@code PositionalIo.CALL_BYTES_MAX} bytes away) and fails with a {@link TransferAbandonedException}, as every
     * request's transfer after it does, so that the VM's end, and a vCPU resetting the device, wait milliseconds for
     * the device's work in flight, however large a request a guest made. Requests not yet started are answered with
     * an I/O error, and one under way may be left partly done: none of them was acknowledged to the guest.
     * {@link #flush()} and {@link #close()} still work. Nothing to do where transfers are short.
     */
    default void abandonTransfers() {
    }

    @Override
    void close();
}
