package dev.panavisor.devices.virtio.vsock;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A host stream in memory, for tests: what the "host program" wrote waits in {@link #fromHost}; what the device
 * wrote lands in {@link #toHost}, at most {@link #writeLimit} bytes per call (a slow host takes little at a time).
 */
final class PipeStream implements VsockStream {
    final ByteArrayOutputStream toHost = new ByteArrayOutputStream();
    ByteBuffer fromHost = ByteBuffer.allocate(0);
    boolean hostEnded;
    boolean outputShut;
    boolean closed;
    boolean wantRead;
    boolean wantWrite;
    int writeLimit = Integer.MAX_VALUE;
    boolean failWrites;
    /** Runs after each write the device makes: a driver that publishes more meanwhile, as one on another vCPU. */
    Runnable afterWrite = () -> { };

    /** The host program writes {@code bytes} (and, with {@code end}, closes its sending side). */
    void hostWrites(byte[] bytes, boolean end) {
        ByteBuffer next = ByteBuffer.allocate(fromHost.remaining() + bytes.length);
        next.put(fromHost).put(bytes).flip();
        fromHost = next;
        hostEnded |= end;
    }

    @Override
    public int read(ByteBuffer into) {
        if (!fromHost.hasRemaining()) {
            return hostEnded ? -1 : 0;
        }
        int n = Math.min(into.remaining(), fromHost.remaining());
        ByteBuffer slice = fromHost.slice(fromHost.position(), n);
        into.put(slice);
        fromHost.position(fromHost.position() + n);
        return n;
    }

    @Override
    public int write(ByteBuffer from) throws IOException {
        if (failWrites || closed) {
            throw new IOException("Broken pipe");
        }
        int n = Math.min(from.remaining(), writeLimit);
        byte[] bytes = new byte[n];
        from.get(bytes);
        toHost.writeBytes(bytes);
        afterWrite.run();
        return n;
    }

    @Override
    public void shutdownOutput() {
        outputShut = true;
    }

    @Override
    public void want(boolean readable, boolean writable) {
        wantRead = readable;
        wantWrite = writable;
    }

    @Override
    public void close() {
        closed = true;
    }
}
