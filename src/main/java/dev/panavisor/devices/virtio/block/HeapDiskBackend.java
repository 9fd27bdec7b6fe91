package dev.panavisor.devices.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/** A disk held in a byte array: for tests and benchmarks. {@link #flush()} only counts calls. */
public final class HeapDiskBackend implements DiskBackend {
    private final byte[] bytes;
    private final boolean readOnly;
    private int flushes;

    public HeapDiskBackend(byte[] contents, boolean readOnly) {
        this.bytes = contents;
        this.readOnly = readOnly;
    }

    public HeapDiskBackend(int size) {
        this(new byte[size], false);
    }

    @Override
    public String name() {
        return "heap disk (" + bytes.length + " bytes)";
    }

    @Override
    public long sizeBytes() {
        return bytes.length;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, ByteBuffer destination) throws IOException {
        int length = destination.remaining();
        check(offset, length);
        destination.put(bytes, (int) offset, length);
    }

    @Override
    public void write(long offset, ByteBuffer source) throws IOException {
        if (readOnly) {
            throw new IOException(name() + " is read-only");
        }
        int length = source.remaining();
        check(offset, length);
        source.get(bytes, (int) offset, length);
    }

    private void check(long offset, int length) throws IOException {
        if (offset < 0 || offset > bytes.length - (long) length) {
            throw new IOException("access of " + length + " bytes at " + offset + " is outside " + name());
        }
    }

    @Override
    public void flush() {
        flushes++;
    }

    public int flushes() {
        return flushes;
    }

    /** A copy of the current contents. */
    public byte[] contents() {
        return Arrays.copyOf(bytes, bytes.length);
    }

    @Override
    public void close() {
    }
}
