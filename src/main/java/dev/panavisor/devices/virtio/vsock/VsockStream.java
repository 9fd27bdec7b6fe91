package dev.panavisor.devices.virtio.vsock;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The host's end of one vsock connection (a UNIX socket in the VMM, a pipe in tests), non-blocking: the device
 * never waits for the host. Calls come under the device's lock.
 *
 * <p>The device says through {@link #want} which readiness it is waiting for; the host side calls the device's
 * {@code hostReady} when the stream becomes ready for one of them, and only then. That is how flow control
 * reaches the host: a connection whose guest has no credit left is simply not read.
 */
public interface VsockStream {
    /** Reads what is there without waiting: bytes read, 0 when nothing is ready, -1 at end of stream. */
    int read(ByteBuffer into) throws IOException;

    /** Writes what fits without waiting: bytes written, possibly 0. */
    int write(ByteBuffer from) throws IOException;

    /** The device will write nothing more (the guest shut down its sending side). */
    void shutdownOutput() throws IOException;

    /** The readiness the device waits for from now on; both false: none. */
    void want(boolean readable, boolean writable);

    /** Ends the connection; never throws. */
    void close();
}
