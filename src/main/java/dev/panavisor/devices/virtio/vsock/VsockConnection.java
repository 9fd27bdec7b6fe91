package dev.panavisor.devices.virtio.vsock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * One stream connection between a guest port and a host port, and its two byte pipes with their credit (virtio 1.2
 * §5.10.6.3, "Flow control"). Pure bookkeeping; {@link VirtioVsock} moves packets and calls in here.
 *
 * <p><b>Guest to host.</b> We advertise {@link #BUFFER} bytes of receive buffer ({@code buf_alloc}) and count in
 * {@code fwd_cnt} the guest's bytes we have handed to the host stream. The guest may have at most {@code buf_alloc -
 * (received - fwd_cnt)} bytes in flight, so {@link #toHost} can never overflow: a packet beyond that credit is a
 * broken or hostile driver, and the connection is reset. As the host stream takes bytes the credit grows back, and a
 * CREDIT_UPDATE tells the guest (it waits for one when its credit is used up).
 *
 * <p><b>Host to guest.</b> The host stream is read into {@link #toGuest} only while there is room, and RW packets
 * drain it no faster than the guest's own credit allows: never more than {@code peer_buf_alloc - (tx_cnt -
 * peer_fwd_cnt)} bytes unacknowledged. While that credit is zero, the host is not read at all, so a host that writes
 * faster than the guest reads is held back by its socket, not by our memory.
 *
 * <p>Counters are u32 and wrap (§5.10.6.3 computes with free-running counters), so all arithmetic is modulo 2^32.
 */
final class VsockConnection {
    /** Our receive buffer per connection: the {@code buf_alloc} we advertise. */
    static final int BUFFER = 256 * 1024;
    /** How much host data waits for the guest's credit, per connection. */
    static final int HOST_BUFFER = 64 * 1024;
    /** The heap one connection's two buffers take ({@link #toHost}, {@link #toGuest}): 320 KiB and 64 bytes. */
    static final int BYTES = BUFFER + 64 + HOST_BUFFER;
    private static final long U32 = 0xffff_ffffL;

    enum State {
        /** Host-initiated: our REQUEST is (to be) sent, waiting for the guest's RESPONSE. */
        REQUESTED,
        /** Both sides agreed; data flows. */
        ESTABLISHED,
        /** Reset (either way): the device forgets the connection once its RST, if any, is sent. */
        CLOSED
    }

    final long guestPort;
    final long hostPort;
    final VsockStream stream;
    State state;

    /** Guest -> host: bytes waiting for the host stream; the first {@link #prefix} of them are not the guest's. */
    final ByteBuffer toHost = ByteBuffer.allocate(BUFFER + 64);
    private int prefix;
    private long received;
    private long forwarded;
    private long advertisedForwarded;
    /** The guest will send nothing more (SHUTDOWN with SEND): end the host stream's output once drained. */
    boolean guestSendDone;
    /** The guest will read nothing more (SHUTDOWN with RCV): stop reading the host. */
    boolean guestReceiveDone;
    private boolean hostOutputShut;

    /** Host -> guest: bytes read from the host, waiting for the guest's credit; in read mode between calls. */
    final ByteBuffer toGuest = ByteBuffer.allocate(HOST_BUFFER).flip();
    private long sent;
    private long peerBufAlloc;
    private long peerForwarded;
    boolean hostEof;
    private boolean shutdownSent;

    /** Control packets owed to the guest. */
    boolean requestOwed;
    boolean responseOwed;
    boolean creditUpdateOwed;
    boolean rstOwed;

    private boolean wantRead;
    private boolean wantWrite;

    VsockConnection(long guestPort, long hostPort, VsockStream stream, State state) {
        this.guestPort = guestPort;
        this.hostPort = hostPort;
        this.stream = stream;
        this.state = state;
    }

    static long key(long guestPort, long hostPort) {
        return (guestPort << 32) | hostPort;
    }

    long key() {
        return key(guestPort, hostPort);
    }

    /** Every packet from the guest carries its current buffer and forward count (§5.10.6.3). */
    void peerCredit(long bufAlloc, long fwdCnt) {
        peerBufAlloc = bufAlloc;
        peerForwarded = fwdCnt;
    }

    /** How many more bytes the guest can take now. */
    long peerCredit() {
        long inFlight = (sent - peerForwarded) & U32;
        return inFlight >= peerBufAlloc ? 0 : peerBufAlloc - inFlight;
    }

    /** Bytes the guest may still send us before we forward some: what our advertised credit leaves. */
    long ourFreeSpace() {
        return BUFFER - ((received - forwarded) & U32);
    }

    /** Queues the host-initiated connection's answer line {@code OK <hostport>\n} ahead of any guest data. */
    void acknowledgeToHost() {
        byte[] line = ("OK " + hostPort + "\n").getBytes(StandardCharsets.US_ASCII);
        toHost.put(line);
        prefix += line.length;
    }

    /**
     * Accepts {@code length} guest bytes from {@code bytes}; false when they exceed the credit we gave (the caller
     * resets the connection).
     */
    boolean acceptFromGuest(byte[] bytes, int offset, int length) {
        if (length > ourFreeSpace() || length > toHost.remaining()) {
            return false;
        }
        toHost.put(bytes, offset, length);
        received = (received + length) & U32;
        return true;
    }

    /** Writes what the host stream takes; ends its output once the guest is done sending and all is written. */
    void flushToHost() throws IOException {
        toHost.flip();
        try {
            int written = toHost.hasRemaining() ? stream.write(toHost) : 0;
            int own = Math.min(prefix, written);
            prefix -= own;
            forwarded = (forwarded + written - own) & U32;
        } finally {
            toHost.compact();
        }
        long unadvertised = (forwarded - advertisedForwarded) & U32;
        if (unadvertised >= BUFFER / 4 || (unadvertised > 0 && toHost.position() == 0)) {
            creditUpdateOwed = true;
        }
        if (guestSendDone && toHost.position() == 0 && !hostOutputShut) {
            hostOutputShut = true;
            stream.shutdownOutput();
        }
    }

    /** Reads what the host has, while there is room; notes its end. */
    void fillFromHost() throws IOException {
        if (state != State.ESTABLISHED || hostEof || guestReceiveDone) {
            return;
        }
        toGuest.compact();
        try {
            if (toGuest.hasRemaining() && stream.read(toGuest) < 0) {
                hostEof = true;
            }
        } finally {
            toGuest.flip();
        }
    }

    /** Whether this connection has a packet for the guest now. */
    boolean hasPacket() {
        if (state == State.CLOSED) {
            return rstOwed;
        }
        return requestOwed || responseOwed || creditUpdateOwed || dataReady() || shutdownOwed();
    }

    private boolean dataReady() {
        return state == State.ESTABLISHED && toGuest.hasRemaining() && peerCredit() > 0;
    }

    private boolean shutdownOwed() {
        return state == State.ESTABLISHED && hostEof && !toGuest.hasRemaining() && !shutdownSent;
    }

    /**
     * Writes the next packet for the guest into {@code packet} (header, then at most {@code maxPayload} bytes of
     * data) and returns its length; 0 when there is nothing to send. {@code guestCid} fills in the header.
     */
    int nextPacket(long guestCid, byte[] packet, int maxPayload) {
        int op;
        long flags = 0;
        int payload = 0;
        if (state == State.CLOSED) {
            if (!rstOwed) {
                return 0;
            }
            rstOwed = false;
            op = VsockHeader.OP_RST;
        } else if (requestOwed) {
            requestOwed = false;
            op = VsockHeader.OP_REQUEST;
        } else if (responseOwed) {
            responseOwed = false;
            op = VsockHeader.OP_RESPONSE;
        } else if (dataReady() && maxPayload > 0) {
            payload = (int) Math.min(Math.min(toGuest.remaining(), peerCredit()), maxPayload);
            toGuest.get(packet, VsockHeader.SIZE, payload);
            sent = (sent + payload) & U32;
            op = VsockHeader.OP_RW;
        } else if (shutdownOwed()) {
            shutdownSent = true;
            op = VsockHeader.OP_SHUTDOWN;
            flags = VsockHeader.SHUTDOWN_SEND;
        } else if (creditUpdateOwed) {
            op = VsockHeader.OP_CREDIT_UPDATE;
        } else {
            return 0;
        }
        creditUpdateOwed = false; // every packet carries our credit
        advertisedForwarded = forwarded;
        VsockHeader.toGuest(guestCid, hostPort, guestPort, op, flags, payload, BUFFER, forwarded)
                .encode(packet, 0);
        return VsockHeader.SIZE + payload;
    }

    /** Tells the host side which readiness we wait for, when that changed. */
    void updateInterest() {
        boolean read = state == State.ESTABLISHED && !hostEof && !guestReceiveDone && roomForHost();
        boolean write = state == State.ESTABLISHED && toHost.position() > 0;
        if (read != wantRead || write != wantWrite) {
            wantRead = read;
            wantWrite = write;
            stream.want(read, write);
        }
    }

    /** Whether the host buffer has room and the guest could take what we read (else reading only fills memory). */
    private boolean roomForHost() {
        return toGuest.remaining() < toGuest.capacity() && peerCredit() > toGuest.remaining();
    }

    /** The guest closed its socket (SHUTDOWN with both flags) and the host has taken all it sent. */
    boolean guestDone() {
        return guestSendDone && guestReceiveDone && toHost.position() == 0;
    }

    /** Data from the guest the host has not taken yet (for tests and closing). */
    int pendingToHost() {
        return toHost.position();
    }

    long sentToGuest() {
        return sent;
    }

    long forwardedToHost() {
        return forwarded;
    }
}
