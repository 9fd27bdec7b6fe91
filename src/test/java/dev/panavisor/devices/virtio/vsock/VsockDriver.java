package dev.panavisor.devices.virtio.vsock;

import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuardedGuestMemory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Plays the guest's vsock driver against a {@link VirtioVsock} on heap memory: posts rx buffers (header and data in
 * one 4 KiB + 44 byte buffer, or split as Linux 6.1 does), sends packets on tx, and reads back what the device put
 * in rx. The host side is a map of port to {@link PipeStream}: a port without one refuses connections.
 */
public final class VsockDriver {
    static final long GUEST_CID = 3;
    static final long RX_BUFFERS = 0x40000;
    static final long TX_BUFFERS = 0x90000;
    static final int RX_BUFFER_SIZE = VsockHeader.SIZE + 4096;

    /** One packet the device sent the guest. */
    public record Packet(VsockHeader header, byte[] data) {
        public int op() {
            return header.op();
        }
    }

    final GuardedGuestMemory memory;
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final Map<Long, PipeStream> listeners = new HashMap<>();
    final List<Long> connectsAsked = new ArrayList<>();
    public final VirtioVsock device;
    final DriverQueue rx;
    final DriverQueue tx;
    final DriverQueue events;
    private final long[] rxAddress = new long[VirtioVsock.QUEUE_SIZE];
    private int txSlot;

    /** Our credit, as the guest advertises it in every packet. */
    long bufAlloc = 1 << 20;
    long fwdCnt;

    public VsockDriver() {
        this(null);
    }

    /** With {@code host} as the host side, or null for the map of {@link PipeStream}s. */
    public VsockDriver(VsockHost host) {
        this(host, Long.MAX_VALUE);
    }

    /** As above, on guest memory that allows at most {@code budget} accesses (a fuzz test's bound on its work). */
    VsockDriver(VsockHost host, long budget) {
        memory = new GuardedGuestMemory(1 << 20, budget);
        device = new VirtioVsock(GUEST_CID, host != null ? host : port -> {
            connectsAsked.add(port);
            PipeStream stream = listeners.remove(port);
            if (stream == null) {
                throw new IOException("Connection refused");
            }
            return stream;
        });
        QueueLayout rxLayout = QueueLayout.contiguous(0x1000, VirtioVsock.QUEUE_SIZE);
        QueueLayout txLayout = QueueLayout.contiguous(0x10000, VirtioVsock.QUEUE_SIZE);
        QueueLayout eventLayout = QueueLayout.contiguous(0x20000, VirtioVsock.QUEUE_SIZE);
        rx = new DriverQueue(memory, rxLayout);
        tx = new DriverQueue(memory, txLayout);
        events = new DriverQueue(memory, eventLayout);
        activate();
    }

    /** Activates the device on this driver's queues (again, after a reset). */
    public void activate() {
        QueueLayout rxLayout = rx.layout();
        QueueLayout txLayout = tx.layout();
        QueueLayout eventLayout = events.layout();
        device.activate(device.offeredFeatures(), List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioVsock.QUEUE_SIZE, false, false),
                new SplitVirtqueue(memory, txLayout, VirtioVsock.QUEUE_SIZE, false, false),
                new SplitVirtqueue(memory, eventLayout, VirtioVsock.QUEUE_SIZE, false, false)), memory, interrupt);
    }

    /** Posts {@code count} rx buffers and notifies. */
    public void postRx(int count) {
        for (int i = 0; i < count; i++) {
            int slot = rx.availIdx() % 64;
            long address = RX_BUFFERS + (long) slot * RX_BUFFER_SIZE;
            int head = rx.add(DriverQueue.writable(address, VsockHeader.SIZE),
                    DriverQueue.writable(address + VsockHeader.SIZE, RX_BUFFER_SIZE - VsockHeader.SIZE));
            rxAddress[head] = address;
        }
        device.queueNotify(VirtioVsock.RX_QUEUE);
    }

    /** Every packet the device has put in rx since the last call. */
    public List<Packet> received() {
        List<Packet> packets = new ArrayList<>();
        for (DriverQueue.Used used = rx.pollUsed(); used != null; used = rx.pollUsed()) {
            if (used.writtenBytes() < VsockHeader.SIZE) {
                continue;
            }
            byte[] bytes = memory.readBytes(rxAddress[used.head()], (int) used.writtenBytes());
            VsockHeader header = VsockHeader.parse(bytes, 0);
            packets.add(new Packet(header, java.util.Arrays.copyOfRange(bytes, VsockHeader.SIZE, bytes.length)));
        }
        return packets;
    }

    /** A header from the guest's {@code guestPort} to the host's {@code hostPort}, with the driver's credit. */
    public VsockHeader header(long guestPort, long hostPort, int op, long flags, long len) {
        return new VsockHeader(GUEST_CID, VsockHeader.HOST_CID, guestPort, hostPort, len, VsockHeader.TYPE_STREAM,
                op, flags, bufAlloc, fwdCnt);
    }

    /** Sends one packet on tx (header and data in separate descriptors) and notifies. */
    public void send(VsockHeader header, byte[] data) {
        publish(header, data);
        device.queueNotify(VirtioVsock.TX_QUEUE);
        while (tx.pollUsed() != null) {
            // the device returns tx buffers unwritten
        }
    }

    /** Puts one packet on tx without notifying; the buffers the device has returned are taken back first. */
    public void publish(VsockHeader header, byte[] data) {
        while (tx.pollUsed() != null) {
            // the device returns tx buffers unwritten
        }
        long address = TX_BUFFERS + (txSlot++ % 4) * 0x11000L;
        memory.write(address, header.encode());
        memory.write(address + VsockHeader.SIZE, data);
        if (data.length == 0) {
            tx.add(DriverQueue.readable(address, VsockHeader.SIZE));
        } else {
            tx.add(DriverQueue.readable(address, VsockHeader.SIZE),
                    DriverQueue.readable(address + VsockHeader.SIZE, data.length));
        }
    }

    public void send(long guestPort, long hostPort, int op) {
        send(header(guestPort, hostPort, op, 0, 0), new byte[0]);
    }

    public void sendData(long guestPort, long hostPort, byte[] data) {
        send(header(guestPort, hostPort, VsockHeader.OP_RW, 0, data.length), data);
    }
}
