package dev.panavisor.devices.virtio.vsock;

import dev.panavisor.devices.virtio.ConfigSpace;
import dev.panavisor.devices.virtio.QueueWork;
import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A virtio socket device (virtio 1.2 §5.10, device ID 19): stream sockets between the guest ({@code AF_VSOCK},
 * its CID from the configuration space) and the host (CID 2), each relayed to a host {@link VsockStream}.
 *
 * <p>Three queues (§5.10.2): rx (0) holds buffers the driver posts for packets to the guest, tx (1) the guest's
 * packets, event (2) buffers for transport events, which this device never sends (it is never migrated), so they
 * stay posted. Every packet is a {@link VsockHeader} followed by {@code len} bytes of data (RW only).
 *
 * <p>A connection is a {@link VsockConnection} keyed by (guest port, host port). The guest opens one with REQUEST to
 * host port P: the device asks {@link VsockHost} for a stream to P and answers RESPONSE, or RST when nothing is
 * there (§5.10.6.4). The host opens one through {@link #hostConnect}: the device sends REQUEST from a fresh host port
 * and waits for the guest's RESPONSE. Then RW packets carry data, limited by credit both ways; SHUTDOWN says one side
 * is done sending or receiving; RST ends it at once.
 *
 * <p>Hostile drivers: a chain without a whole header is returned unread, and a header not from the guest's CID to
 * the host is dropped (there is nobody to answer); a header of another type than stream, an unknown op, a {@code
 * len} the chain does not hold or larger than a packet may be, data beyond the credit we gave, or data for a
 * connection that does not exist all end in a RST for that port pair (never for a RST) and never in an exception. A
 * broken queue fails the device (DEVICE_NEEDS_RESET) and closes every host socket until the driver resets it. The
 * RSTs owed to unknown connections wait in a bounded queue, so a guest that floods tx without reading rx cannot grow
 * our memory.
 *
 * <p>Threading: like every device, this one is called under one lock per device: by the worker for queue
 * notifications and by the host's poller ({@link #hostReady}, {@link #hostConnect}) when a socket is ready.
 */
public final class VirtioVsock implements VirtioDevice {
    public static final int DEVICE_TYPE = 19;
    public static final int RX_QUEUE = 0;
    public static final int TX_QUEUE = 1;
    public static final int EVENT_QUEUE = 2;
    public static final int QUEUE_SIZE = 256;
    /** The most data one packet may carry: Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE. */
    public static final int MAX_PAYLOAD = 64 * 1024;
    /** Host ports handed out to host-initiated connections start here (far above well-known ports). */
    static final long FIRST_HOST_PORT = 1L << 30;
    /** Heap the connections' buffers may take in all: a small part of the VMM's (-Xmx256m, cli/jvm.options). */
    static final long CONNECTION_BUFFER_BUDGET = 64L << 20;
    /**
     * Connections at once (204): as many as {@link #CONNECTION_BUFFER_BUDGET} holds, each with its two buffers
     * ({@link VsockConnection#BYTES}). A guest that opens more gets RST; with 1,024 (until the thirty-third
     * session) a guest could open more connections than the heap could hold and end the VMM.
     */
    static final int MAX_CONNECTIONS = (int) (CONNECTION_BUFFER_BUDGET / VsockConnection.BYTES);
    static final int MAX_PENDING_RESETS = 256;

    private final long guestCid;
    /** struct virtio_vsock_config's bytes: guest_cid, little-endian. */
    private final byte[] config;
    private final VsockHost host;
    private final Map<Long, VsockConnection> connections = new LinkedHashMap<>();
    private final Map<VsockStream, VsockConnection> byStream = new IdentityHashMap<>();
    /** RSTs for port pairs with no connection: (guest port, host port). */
    private final ArrayDeque<long[]> resets = new ArrayDeque<>();
    private final byte[] packet = new byte[VsockHeader.SIZE + MAX_PAYLOAD];
    private final byte[] guestData = new byte[MAX_PAYLOAD];
    private long nextHostPort = FIRST_HOST_PORT;

    private SplitVirtqueue rx;
    private SplitVirtqueue tx;
    private VirtioInterrupt interrupt;
    private boolean failed;

    /**
     * @param guestCid the guest's context ID, 3 or more (0-2 are reserved, §5.10.4)
     * @param host     where the guest's connections to the host go
     */
    public VirtioVsock(long guestCid, VsockHost host) {
        if (guestCid < 3 || guestCid > 0xffff_fffeL) {
            throw new IllegalArgumentException("a guest CID must be between 3 and 4294967294, got " + guestCid);
        }
        this.guestCid = guestCid;
        this.config = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, guestCid)
                .array();
        this.host = host;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-vsock (cid " + guestCid + ")";
    }

    @Override
    public long offeredFeatures() {
        return VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX;
    }

    @Override
    public int queueCount() {
        return 3;
    }

    @Override
    public int maxQueueSize(int index) {
        return QUEUE_SIZE;
    }

    /** struct virtio_vsock_config (§5.10.4): le64 guest_cid, read-only. */
    @Override
    public long readConfig(int offset, int size) {
        return ConfigSpace.read(config, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // guest_cid is the device's to say.
    }

    @Override
    public void activate(long features, List<SplitVirtqueue> queues, GuestMemory memory, VirtioInterrupt interrupt) {
        this.rx = queues.get(RX_QUEUE);
        this.tx = queues.get(TX_QUEUE);
        this.interrupt = interrupt;
        this.failed = false;
    }

    /** Forgets the queues and ends every connection: a reset driver knows none of them (§5.10.6.6). */
    @Override
    public void reset() {
        dropConnections();
        rx = null;
        tx = null;
        interrupt = null;
        failed = false;
    }

    @Override
    public void queueNotify(int index) {
        while (serve(index)) {
            // a driver still publishing: once more, as the transport does between its calls of takeWork
        }
    }

    /**
     * One round of {@link #queueNotify}'s work under the device's lock; when the transmit queue still holds packets
     * after a queue's worth (a driver that publishes as fast as the device answers), a work with nothing to perform
     * outside the lock, so that the transport lets go of the lock and calls again: vCPUs and the host side's thread
     * get the device in between.
     */
    @Override
    public QueueWork takeWork(int index) {
        return serve(index) ? QueueWork.AGAIN : null;
    }

    /** Serves {@code index} once; true when the transmit queue has more than one round held. */
    private boolean serve(int index) {
        if (rx == null || failed) {
            return false;
        }
        boolean more = index == TX_QUEUE && transmit();
        deliver(); // tx packets owe answers; an rx notification brought buffers
        return more && !failed;
    }

    /**
     * A connection from a host program to the guest's {@code guestPort} (the host side has already read its
     * {@code CONNECT} line). Refused at once, closing the stream, when the driver is not running.
     */
    public void hostConnect(VsockStream stream, long guestPort) {
        if (rx == null || failed || connections.size() >= MAX_CONNECTIONS || guestPort > 0xffff_ffffL) {
            stream.close();
            return;
        }
        long hostPort;
        do {
            hostPort = nextHostPort;
            nextHostPort = nextHostPort == 0xffff_fffeL ? FIRST_HOST_PORT : nextHostPort + 1;
        } while (connections.containsKey(VsockConnection.key(guestPort, hostPort)));
        VsockConnection connection = new VsockConnection(guestPort, hostPort, stream,
                VsockConnection.State.REQUESTED);
        connection.requestOwed = true;
        add(connection);
        outsideTheTransport(this::deliver);
    }

    /**
     * The host side stopped waiting for the guest to accept {@code stream}'s connection ({@link #hostConnect}): if it
     * has not, the connection ends. The host stream is closed; the guest gets a RST for the REQUEST it left
     * unanswered, or nothing if the REQUEST never reached it. An accepted or ended connection is left as it is.
     */
    public void hostGaveUp(VsockStream stream) {
        VsockConnection connection = byStream.get(stream);
        if (connection == null || connection.state != VsockConnection.State.REQUESTED) {
            return;
        }
        if (connection.requestOwed) {
            forget(connection);
            return;
        }
        reset(connection);
        outsideTheTransport(this::deliver);
    }

    /** The host stream is ready for what the device waits for ({@link VsockStream#want}): move bytes, then packets. */
    public void hostReady(VsockStream stream) {
        VsockConnection connection = byStream.get(stream);
        if (connection == null || rx == null || failed) {
            return;
        }
        try {
            connection.flushToHost();
            connection.fillFromHost();
        } catch (IOException e) {
            reset(connection);
        }
        closeIfDone(connection);
        if (connection.state != VsockConnection.State.CLOSED) {
            connection.updateInterest();
        }
        outsideTheTransport(this::deliver);
    }

    /** Number of open connections (for tests and the VMM's messages). */
    public int connectionCount() {
        return connections.size();
    }

    /** Host-side calls have no transport on the stack to turn a broken queue into DEVICE_NEEDS_RESET: do it here. */
    private void outsideTheTransport(Runnable work) {
        try {
            work.run();
        } catch (VirtioException | GuestMemoryException e) {
            failed();
            interrupt.deviceFailed(name() + ": " + e.getMessage());
        }
    }

    /**
     * A failed device moves nothing until the driver resets it, so its host sockets go now: one left with unread
     * data or waiting guest data would stay ready, and the host side's selector (level-triggered) would hand it to
     * hostReady, which does nothing for a failed device, again and again.
     */
    @Override
    public void failed() {
        failed = true;
        dropConnections();
    }

    /** Closes every connection's host stream and forgets them all, and every RST owed. */
    private void dropConnections() {
        for (VsockConnection connection : connections.values()) {
            connection.stream.close();
        }
        connections.clear();
        byStream.clear();
        resets.clear();
    }

    private void add(VsockConnection connection) {
        connections.put(connection.key(), connection);
        byStream.put(connection.stream, connection);
    }

    /**
     * The packets the guest queued, a queue's worth at most: parse, act, return the buffer (the device writes nothing
     * into tx buffers). Returns whether more were left (a correct driver never has more than a queue's worth).
     */
    private boolean transmit() {
        DescriptorChain chain;
        int taken = 0;
        while (taken < tx.size() && (chain = tx.pop()) != null) {
            taken++;
            if (chain.readFromReadable(0, packet, 0, VsockHeader.SIZE) == VsockHeader.SIZE) {
                receiveFromGuest(chain, VsockHeader.parse(packet, 0));
            }
            tx.addUsed(chain.headIndex(), 0);
        }
        if (tx.needsNotification()) {
            interrupt.usedBuffers();
        }
        return taken == tx.size() && tx.hasAvailable();
    }

    private void receiveFromGuest(DescriptorChain chain, VsockHeader header) {
        if (header.srcCid() != guestCid || header.dstCid() != VsockHeader.HOST_CID) {
            return; // not a packet between this guest and the host: there is nobody to answer
        }
        VsockConnection connection = connections.get(VsockConnection.key(header.srcPort(), header.dstPort()));
        if (header.op() == VsockHeader.OP_RST) {
            if (connection != null) {
                forget(connection);
            }
            return;
        }
        boolean wellFormed = header.type() == VsockHeader.TYPE_STREAM && header.len() <= MAX_PAYLOAD
                && header.len() <= chain.readableBytes() - VsockHeader.SIZE
                && (header.len() == 0 || header.op() == VsockHeader.OP_RW);
        if (!wellFormed) {
            if (connection != null) {
                reset(connection);
            } else {
                owe(header);
            }
            return;
        }
        if (connection == null) {
            if (header.op() == VsockHeader.OP_REQUEST) {
                connectToHost(header);
            } else {
                owe(header);
            }
            return;
        }
        connection.peerCredit(header.bufAlloc(), header.fwdCnt());
        switch (header.op()) {
            case VsockHeader.OP_RESPONSE -> accepted(connection);
            case VsockHeader.OP_RW -> data(connection, chain, (int) header.len());
            case VsockHeader.OP_SHUTDOWN -> shutdown(connection, header.flags());
            case VsockHeader.OP_CREDIT_UPDATE -> { } // the credit above was all it said
            case VsockHeader.OP_CREDIT_REQUEST -> connection.creditUpdateOwed = true;
            default -> reset(connection); // a second REQUEST, INVALID, or an op this spec does not have
        }
        if (connection.state != VsockConnection.State.CLOSED) {
            connection.updateInterest();
        }
    }

    /** A guest REQUEST: open the host's end, then RESPONSE; RST when the host has nothing on that port. */
    private void connectToHost(VsockHeader header) {
        if (connections.size() >= MAX_CONNECTIONS) {
            owe(header);
            return;
        }
        VsockStream stream;
        try {
            stream = host.connect(header.dstPort());
        } catch (IOException e) {
            owe(header);
            return;
        }
        VsockConnection connection = new VsockConnection(header.srcPort(), header.dstPort(), stream,
                VsockConnection.State.ESTABLISHED);
        connection.peerCredit(header.bufAlloc(), header.fwdCnt());
        connection.responseOwed = true;
        add(connection);
        connection.updateInterest();
    }

    private void accepted(VsockConnection connection) {
        if (connection.state != VsockConnection.State.REQUESTED) {
            reset(connection);
            return;
        }
        connection.state = VsockConnection.State.ESTABLISHED;
        connection.acknowledgeToHost();
        flush(connection);
    }

    private void data(VsockConnection connection, DescriptorChain chain, int length) {
        if (connection.state != VsockConnection.State.ESTABLISHED || connection.guestSendDone) {
            reset(connection);
            return;
        }
        chain.readFromReadable(VsockHeader.SIZE, guestData, 0, length);
        if (!connection.acceptFromGuest(guestData, 0, length)) {
            reset(connection); // more than the credit we advertised
            return;
        }
        flush(connection);
    }

    private void shutdown(VsockConnection connection, long flags) {
        connection.guestSendDone |= (flags & VsockHeader.SHUTDOWN_SEND) != 0;
        connection.guestReceiveDone |= (flags & VsockHeader.SHUTDOWN_RCV) != 0;
        flush(connection);
        closeIfDone(connection);
    }

    /**
     * The guest closed its socket (SHUTDOWN with both flags, §5.10.6.5) and the host has all it sent: answer with
     * the RST the guest waits for. Until the host has taken every byte, the connection stays to deliver them.
     */
    private void closeIfDone(VsockConnection connection) {
        if (connection.state != VsockConnection.State.CLOSED && connection.guestDone()) {
            reset(connection);
        }
    }

    private void flush(VsockConnection connection) {
        try {
            connection.flushToHost();
        } catch (IOException e) {
            reset(connection);
        }
    }

    /** Ends a connection: the host stream is closed now, the guest gets a RST with the next rx buffer. */
    private void reset(VsockConnection connection) {
        if (connection.state == VsockConnection.State.CLOSED) {
            return;
        }
        connection.state = VsockConnection.State.CLOSED;
        connection.rstOwed = true;
        connection.stream.close();
        byStream.remove(connection.stream);
    }

    /** The guest reset the connection: nothing is owed to it. */
    private void forget(VsockConnection connection) {
        connection.stream.close();
        connections.remove(connection.key());
        byStream.remove(connection.stream);
    }

    /** A RST for a packet that belongs to no connection (the reply to its ports), unless too many wait already. */
    private void owe(VsockHeader header) {
        if (resets.size() < MAX_PENDING_RESETS) {
            resets.add(new long[] {header.srcPort(), header.dstPort()});
        }
    }

    /** Fills posted rx buffers with owed packets: RSTs for strangers first, then each connection in turn. */
    private void deliver() {
        if (rx == null) {
            return;
        }
        List<VsockConnection> order = new ArrayList<>(connections.values());
        int next = 0;
        int idle = 0;
        while (rx.hasAvailable() && (!resets.isEmpty() || (!order.isEmpty() && idle < order.size()))) {
            DescriptorChain chain;
            if (!resets.isEmpty()) {
                chain = rx.pop(); // before the RST is taken: a driver may take back what hasAvailable() saw
                if (chain == null) {
                    break;
                }
                long[] ports = resets.poll();
                int written = chain.writeToWritable(0, VsockHeader.toGuest(guestCid, ports[1], ports[0],
                        VsockHeader.OP_RST, 0, 0, 0, 0).encode(), 0, VsockHeader.SIZE);
                rx.addUsed(chain.headIndex(), written);
                continue;
            }
            VsockConnection connection = order.get(next);
            next = (next + 1) % order.size();
            if (!connection.hasPacket()) {
                idle++;
                continue;
            }
            idle = 0;
            chain = rx.pop();
            if (chain == null) {
                break; // the driver took back what it had published (a hostile one may): nothing to fill
            }
            long room = chain.writableBytes() - VsockHeader.SIZE;
            int length = room < 0 ? 0
                    : connection.nextPacket(guestCid, packet, (int) Math.min(room, MAX_PAYLOAD));
            int written = chain.writeToWritable(0, packet, 0, length);
            rx.addUsed(chain.headIndex(), written);
            afterSending(connection);
        }
        if (rx.needsNotification()) {
            interrupt.usedBuffers();
        }
    }

    private void afterSending(VsockConnection connection) {
        if (connection.state == VsockConnection.State.CLOSED) {
            if (!connection.rstOwed) {
                connections.remove(connection.key());
            }
            return;
        }
        try {
            connection.fillFromHost(); // room freed in the host buffer: top it up before the next packet
        } catch (IOException e) {
            reset(connection);
            return;
        }
        connection.updateInterest();
    }
}
