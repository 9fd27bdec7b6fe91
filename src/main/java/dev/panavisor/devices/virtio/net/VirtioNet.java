package dev.panavisor.devices.virtio.net;

import dev.panavisor.devices.virtio.ConfigSpace;
import dev.panavisor.devices.virtio.Occurrences;
import dev.panavisor.devices.virtio.QueueWork;
import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.devices.virtio.queue.VirtqueueException;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import java.io.IOException;
import java.util.List;

/**
 * A virtio network device (virtio 1.2 §5.1): one receive queue and one transmit queue, Ethernet frames each
 * preceded by a 12-byte {@code struct virtio_net_hdr} (§5.1.6), a MAC address in the configuration space.
 *
 * <p>Features: VERSION_1, VIRTIO_NET_F_MAC, EVENT_IDX, INDIRECT_DESC and MRG_RXBUF, plus the offloads the backend
 * can carry ({@link NetBackend#offloads()}: a TAP carries CSUM, GUEST_CSUM, HOST_TSO4/6 and GUEST_TSO4/6; passt
 * none). With offloads the header travels with the frame: the guest's header goes to the backend as it is (a
 * partial checksum or a 64 KiB TCP segment is finished by the host's stack), and the backend's header comes to the
 * guest, with {@code num_buffers} set by the device. Without them every frame either way is a complete Ethernet
 * frame with its checksums filled in, and the header's fields are all 0 (GSO_NONE) but {@code num_buffers}. No
 * control queue, no STATUS (the link is always up), one queue pair.
 *
 * <p>Receive buffers (§5.1.6.3). With VIRTIO_NET_F_MRG_RXBUF, which Linux's driver takes, it posts small buffers
 * (one page-fragment descriptor each, sized from the frames it has seen), and a frame fills as many as it needs:
 * the header goes at the start of the first, {@code num_buffers} says how many, and every buffer but the last is
 * used to its full length (§5.1.6.4). The device first counts the buffers the frame needs, gives them back
 * ({@link SplitVirtqueue#unpop}) and fills them only when there are enough: otherwise the frame is not taken and
 * the host side waits, as for an empty queue, the driver having been asked to notify at its next buffer. Without
 * the feature each frame takes one chain, and with GUEST_TSO4/6 Linux posts "big" buffers for it, 64 KiB each (a
 * chain of 17 pages) however small the frame.
 *
 * <p>Transmit (§5.1.6.2): on the driver's notification every available chain is one header and one frame in its
 * device-readable part; the header is skipped (kept, with offloads) and the frame handed to the {@link NetBackend}
 * by the device's worker, outside the transport's lock ({@link TransmitBatch}). Receive (§5.1.6.3):
 * the host side pushes frames in with {@link #receive}; each takes one chain from the receive queue, which gets
 * the header and the frame in its device-writable part. When the receive queue is empty the frame is not taken
 * ({@link #receive} says so) and the host side waits: {@link #canReceive} has then asked the driver (avail_event,
 * with EVENT_IDX) to notify at its next buffer, and that notification runs the {@code receiveBuffersAdded}
 * callback, which wakes it (only then: a host side that has buffers is not waiting for the callback).
 *
 * <p>Hostile drivers: a transmit chain shorter than a header, or a frame longer than {@link #MAX_FRAME}, is
 * returned unsent; a receive chain too small for the frame is returned with nothing written (the driver sees a
 * length of 0, which Linux counts as a length error). Both are counted in {@link #droppedFrames()} with the last
 * reason, never sent half or written past the chain.
 */
public final class VirtioNet implements VirtioDevice {
    public static final int DEVICE_TYPE = 1;
    public static final int RECEIVE_QUEUE = 0;
    public static final int TRANSMIT_QUEUE = 1;
    public static final int QUEUE_SIZE = 256;
    /** §5.1.3: the device has a MAC address in its configuration space. */
    public static final long F_MAC = 1L << 5;
    /** §5.1.3: the device takes transmitted frames with a partial checksum (the driver's NEEDS_CSUM). */
    public static final long F_CSUM = 1L << 0;
    /** §5.1.3: the driver takes received frames with a partial checksum. */
    public static final long F_GUEST_CSUM = 1L << 1;
    /** §5.1.3: the driver takes received TCP segments larger than the MTU, over IPv4 and IPv6 (needs GUEST_CSUM). */
    public static final long F_GUEST_TSO4 = 1L << 7;
    public static final long F_GUEST_TSO6 = 1L << 8;
    /** §5.1.3: the device takes transmitted TCP segments larger than the MTU (needs CSUM). */
    public static final long F_HOST_TSO4 = 1L << 11;
    public static final long F_HOST_TSO6 = 1L << 12;
    /** §5.1.3: the driver's receive buffers may be merged: a frame can take several (§5.1.6.3.2). */
    public static final long F_MRG_RXBUF = 1L << 15;
    /** Every offload bit this device knows; a backend's {@link NetBackend#offloads()} is masked with it. */
    public static final long OFFLOADS = F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6 | F_HOST_TSO4
            | F_HOST_TSO6;
    /** §5.1.6: struct virtio_net_hdr with num_buffers; always 12 bytes with VERSION_1. */
    public static final int HEADER_SIZE = 12;
    /** Offset of num_buffers in the header. */
    static final int NUM_BUFFERS = 10;
    /**
     * Largest frame either way: an Ethernet header and the largest IPv4 packet (65535 bytes). Without offloads a
     * frame is at most MTU + 14, and Linux's virtio-net allows MTUs up to 65535 without VIRTIO_NET_F_MTU.
     */
    public static final int MAX_FRAME = 14 + 65535;

    private final NetBackend backend;
    private final MacAddress mac;
    private final Runnable receiveBuffersAdded;
    private final TransmitBatch transmitBatch;
    /** The backend carries offloads: headers pass through in both directions (see the class comment). */
    private final boolean headersPassThrough;
    /** The offloads the driver accepted at activation: what a header may ask, received or transmitted. */
    private long acceptedOffloads;
    /** The driver accepted MRG_RXBUF at activation. */
    private boolean mergeable;
    private final byte[] header = new byte[HEADER_SIZE];
    /** Header and frame in one piece, for mergeable buffers without offloads (the backend's frame has no header). */
    private byte[] staging;

    private SplitVirtqueue receiveQueue;
    private SplitVirtqueue transmitQueue;
    private VirtioInterrupt interrupt;
    /** A receive-queue error found off a notification; cleared by reset. */
    private boolean failed;
    /** The host side last found no receive buffer ({@link #canReceive}) and waits for the callback. */
    private boolean receiverWaiting = true;
    private long framesSent;
    private long framesReceived;
    private long droppedFrames;
    private String lastDropReason = "";
    private java.util.function.Consumer<String> dropListener = reason -> { };

    /**
     * @param receiveBuffersAdded run (under the device's lock) when the driver has made receive buffers available
     *                            after {@link #canReceive} found none, or the device was activated: the host side
     *                            may deliver frames again
     */
    public VirtioNet(NetBackend backend, MacAddress mac, Runnable receiveBuffersAdded) {
        this.backend = backend;
        this.mac = mac;
        this.receiveBuffersAdded = receiveBuffersAdded;
        this.headersPassThrough = (backend.offloads() & OFFLOADS) != 0;
        this.transmitBatch = new TransmitBatch(this, backend);
        // §5.1.6: without MRG_RXBUF the device still writes num_buffers, and it is 1 (one buffer per frame).
        header[NUM_BUFFERS] = 1;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-net (" + backend.name() + ")";
    }

    @Override
    public long offeredFeatures() {
        return VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX | VirtioFeatures.INDIRECT_DESC | F_MAC
                | F_MRG_RXBUF | (backend.offloads() & OFFLOADS);
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int maxQueueSize(int index) {
        return QUEUE_SIZE;
    }

    /** struct virtio_net_config (§5.1.4): mac[6] at 0; status, max_virtqueue_pairs and mtu are not offered. */
    @Override
    public long readConfig(int offset, int size) {
        return ConfigSpace.read(mac.octets(), offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // §5.1.4: mac is read-only with VERSION_1 (writable only by legacy drivers); nothing else is offered.
    }

    @Override
    public void activate(long features, List<SplitVirtqueue> queues, GuestMemory memory, VirtioInterrupt interrupt) {
        this.receiveQueue = queues.get(RECEIVE_QUEUE);
        this.transmitQueue = queues.get(TRANSMIT_QUEUE);
        this.interrupt = interrupt;
        this.failed = false;
        this.acceptedOffloads = features & OFFLOADS;
        this.mergeable = (features & F_MRG_RXBUF) != 0;
        if (headersPassThrough) {
            try {
                backend.offloadsAccepted(features & OFFLOADS);
            } catch (IOException e) {
                fail(new IllegalStateException(backend.name() + " refused the offloads the driver accepted: "
                        + e.getMessage(), e));
                return;
            }
        }
        receiveBuffersAdded.run(); // buffers the driver made available before DRIVER_OK
    }

    @Override
    public void reset() {
        if (headersPassThrough && receiveQueue != null) {
            try {
                backend.offloadsAccepted(0); // the next driver may take no offloaded frames
            } catch (IOException e) {
                drop(backend.name() + " refused to turn its offloads off: " + e.getMessage());
            }
        }
        receiveQueue = null;
        transmitQueue = null;
        interrupt = null;
        failed = false;
    }

    @Override
    public void queueNotify(int index) {
        if (receiveQueue == null) {
            return;
        }
        if (index == TRANSMIT_QUEUE) {
            QueueWork work;
            while ((work = takeWork(index)) != null) { // tests, and a VMM without a worker: all on this thread
                work.perform();
                work.complete();
            }
        } else if (index == RECEIVE_QUEUE && receiverWaiting && receiveQueue.hasAvailable()) {
            // Only a host side that found no buffer is waiting for one; the worker serves every queue on every kick,
            // so waking it unconditionally would cost a wake-up per transmitted batch.
            receiverWaiting = false;
            receiveBuffersAdded.run();
        }
    }

    /**
     * Takes the frames the driver has made available for transmission ({@link TransmitBatch}): the worker sends them
     * without the transport's lock. A receive-queue notification only wakes a waiting host side ({@link
     * #queueNotify}).
     */
    @Override
    public QueueWork takeWork(int index) {
        if (index != TRANSMIT_QUEUE) {
            queueNotify(index);
            return null;
        }
        return transmitQueue == null ? null : transmitBatch.take(transmitQueue, headersPassThrough ? 0 : HEADER_SIZE);
    }

    /** A frame went to the backend ({@link TransmitBatch#complete}). */
    void sent() {
        framesSent++;
    }

    /** The end of a transmit batch: notifies the driver once, if it wants that. */
    void transmitted(SplitVirtqueue queue) {
        if (queue.needsNotification()) {
            interrupt.usedBuffers();
        }
    }

    /**
     * Whether a frame can be delivered now: the device is active and the driver has a receive buffer available.
     * When it has none, this also asks the driver to notify at its next one (see the class comment).
     */
    public boolean canReceive() {
        boolean can = false;
        if (receiveQueue != null && !failed) {
            try {
                can = receiveQueue.hasAvailable();
            } catch (VirtqueueException | GuestMemoryException e) {
                fail(e);
            }
        }
        receiverWaiting = !can;
        return can;
    }

    /**
     * Delivers one frame from the host side into the next receive buffer and notifies the driver if it wants that.
     * With a backend that carries offloads, {@code frame} starts with the backend's 12-byte virtio-net header.
     *
     * <p>A malformed receive queue (a hostile driver) is reported like one found on a notification: the device
     * needs a reset (§2.1.2) and takes no more frames until the driver resets it. Call under the transport's lock.
     *
     * @return false when there is no buffer (or the device is not active or broken): the frame was not taken; true
     *         when it was delivered, or dropped because the buffer was too small for it (counted, see the class
     *         comment)
     */
    public boolean receive(byte[] frame, int length) {
        boolean taken = receiveInBurst(frame, length);
        endBurst();
        return taken;
    }

    /**
     * As {@link #receive}, without the used buffer notification: a host side that has several frames waiting
     * delivers them all and then calls {@link #endBurst()} once, so the driver gets one interrupt per burst
     * (§2.7.7 lets the device batch: it notifies after adding buffers, not necessarily after each).
     */
    public boolean receiveInBurst(byte[] frame, int length) {
        if (receiveQueue == null || failed) {
            return false;
        }
        try {
            return deliver(frame, length);
        } catch (VirtqueueException | GuestMemoryException e) {
            fail(e);
            return false;
        }
    }

    /** Ends a burst of {@link #receiveInBurst}: notifies the driver once if it wants to hear of the frames. */
    public void endBurst() {
        if (receiveQueue == null || failed) {
            return;
        }
        try {
            if (receiveQueue.needsNotification()) {
                interrupt.usedBuffers();
            }
        } catch (GuestMemoryException e) {
            fail(e);
        }
    }

    private boolean deliver(byte[] frame, int length) {
        if (headersPassThrough && length < HEADER_SIZE) {
            drop("received frame of " + length + " bytes is shorter than its 12-byte header");
            return true;
        }
        if (mergeable) {
            if (headersPassThrough) {
                return !fitsDriver(frame) || deliverMerged(frame, length);
            }
            if (staging == null) {
                staging = new byte[HEADER_SIZE + MAX_FRAME];
            }
            System.arraycopy(header, 0, staging, 0, HEADER_SIZE);
            System.arraycopy(frame, 0, staging, HEADER_SIZE, length);
            return deliverMerged(staging, HEADER_SIZE + length);
        }
        DescriptorChain chain = receiveQueue.pop();
        if (chain == null) {
            return false;
        }
        int written = 0;
        long needed = headersPassThrough ? length : HEADER_SIZE + (long) length;
        if (chain.writableBytes() < needed) {
            drop("received frame of " + (needed - HEADER_SIZE) + " bytes does not fit the driver's buffer of "
                    + chain.writableBytes() + " bytes");
        } else if (headersPassThrough && !fitsDriver(frame)) {
            // Already dropped and counted by fitsDriver; the buffer goes back empty.
            written = 0;
        } else if (headersPassThrough) {
            // The backend's header, as its host side wrote it (flags, GSO type and sizes); num_buffers is the
            // device's to say (§5.1.6.4.1: 1 without MRG_RXBUF), and the TAP leaves those two bytes alone.
            frame[NUM_BUFFERS] = 1;
            frame[NUM_BUFFERS + 1] = 0;
            chain.writeToWritable(0, frame, 0, length);
            written = length;
            framesReceived++;
        } else {
            chain.writeToWritable(0, header, 0, HEADER_SIZE);
            chain.writeToWritable(HEADER_SIZE, frame, 0, length);
            written = HEADER_SIZE + length;
            framesReceived++;
        }
        receiveQueue.addUsed(chain.headIndex(), written);
        return true;
    }

    /**
     * Delivers header and frame ({@code packet}, the header first) into as many receive buffers as they need
     * (§5.1.6.4), or takes nothing when the driver has not made enough available: those it has are given back, the
     * driver is asked to notify at its next one, and the host side waits. A frame larger than a whole queue of the
     * driver's buffers could never be taken: it is dropped and counted.
     */
    private boolean deliverMerged(byte[] packet, int length) {
        int count = buffersFor(length);
        if (count < 0) {
            return true; // dropped
        }
        if (count == 0) {
            receiverWaiting = true;
            return false;
        }
        packet[NUM_BUFFERS] = (byte) count;
        packet[NUM_BUFFERS + 1] = (byte) (count >> 8);
        int offset = 0;
        for (int i = 0; i < count; i++) {
            // The same chains again; a driver that changed them meanwhile gets its frame cut short, nothing worse.
            DescriptorChain chain = receiveQueue.pop();
            if (chain == null) {
                break; // its available index went back, which no driver may do: no more to give it
            }
            int part = (int) Math.min(chain.writableBytes(), length - offset);
            chain.writeToWritable(0, packet, offset, part);
            receiveQueue.fillUsed(chain.headIndex(), part);
            offset += part;
        }
        // All of the frame's buffers become used at once (§5.1.6.4.1). Published one by one, a driver already
        // polling the ring could find the first (num_buffers = count) before the rest and drop the frame as
        // "buffers missing": Linux counts it in rx_length_errors, and the sender retransmits.
        receiveQueue.flushUsed();
        framesReceived++;
        return true;
    }

    /**
     * How many of the available receive buffers a packet of {@code length} bytes takes, counted and given back;
     * 0 when there are not enough yet (the driver has been asked to notify at its next), -1 when a whole queue of
     * them would not do (the frame is dropped and counted).
     */
    private int buffersFor(long length) {
        // Each look takes at most a queue's worth (pop() alone lets a driver that publishes as fast as the device
        // pops go on for ever), and a queue's worth of looks ends it: a driver that does make buffers available
        // brings the count to a queue's worth by then, one that moves its index back and forth gets to wait.
        for (int look = 0; look < receiveQueue.size(); look++) {
            int count = 0;
            long capacity = 0;
            DescriptorChain chain;
            while (capacity < length && count < receiveQueue.size() && (chain = receiveQueue.pop()) != null) {
                capacity += chain.writableBytes();
                count++;
            }
            receiveQueue.unpop(count);
            if (capacity >= length) {
                return count;
            }
            if (count >= receiveQueue.size()) {
                drop("received frame of " + (length - HEADER_SIZE) + " bytes does not fit the driver's whole "
                        + "receive queue (" + capacity + " bytes)");
                return -1;
            }
            if (!receiveQueue.notifyAtNextChain()) {
                return 0;
            }
            // The driver made a buffer available as it was asked to notify, and may not notify for it: look again.
        }
        return 0;
    }

    /** Whether a received header asks only what the driver accepted ({@link ReceivedHeader}); if not, a drop. */
    private boolean fitsDriver(byte[] frame) {
        String refusal = ReceivedHeader.refusal(frame, acceptedOffloads);
        if (refusal != null) {
            drop(refusal);
        }
        return refusal == null;
    }

    private void fail(RuntimeException e) {
        failed();
        interrupt.deviceFailed(e.getMessage());
    }

    /** No more frames into the receive queue until the driver resets the device. */
    @Override
    public void failed() {
        failed = true;
    }

    /**
     * Where each dropped frame's reason goes, at the 1st, 10th, 100th... drop (run --verbose gives the VMM's event
     * log): a dropped frame is the guest's loss, and a flood of them must not flood the log.
     */
    public void onDrop(java.util.function.Consumer<String> listener) {
        this.dropListener = java.util.Objects.requireNonNull(listener);
    }

    void drop(String reason) {
        droppedFrames++;
        lastDropReason = reason;
        if (Occurrences.worthReporting(droppedFrames)) {
            dropListener.accept(name() + ": frame dropped (" + droppedFrames + " so far): " + reason);
        }
    }

    public MacAddress mac() {
        return mac;
    }

    /** Frames handed to the backend. */
    public long framesSent() {
        return framesSent;
    }

    /** Frames written into the driver's receive buffers. */
    public long framesReceived() {
        return framesReceived;
    }

    /** The offloads the driver accepted; under the transport's lock. */
    long acceptedOffloads() {
        return acceptedOffloads;
    }

    /** Frames dropped in either direction, with {@link #lastDropReason()}. */
    public long droppedFrames() {
        return droppedFrames;
    }

    public String lastDropReason() {
        return lastDropReason;
    }
}
