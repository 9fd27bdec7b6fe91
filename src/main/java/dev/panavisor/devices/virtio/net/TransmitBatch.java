package dev.panavisor.devices.virtio.net;

import dev.panavisor.devices.virtio.QueueWork;
import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import java.io.IOException;

/**
 * The frames of one transmit notification, taken under the transport's lock and sent without it ({@link QueueWork}).
 *
 * <p>Why: a write to a TAP runs the host's network stack in the writing thread. For a TCP acknowledgement that
 * stack goes on to send the next segments of the connection, which land in the TAP's receive queue, all inside the
 * {@code write(2)}. Held under the transport's lock, that write kept the receive thread (just woken by those very
 * segments) and the vCPUs' interrupt-register reads waiting: in a nested-lab flight recording of a 16 MiB transfer
 * the receive thread waited 195 ms for the worker's lock (docs/network.md, "Measured").
 *
 * <p>So {@link #take} pops every available chain (up to a queue's worth, and as many frames as fit the staging
 * area), checks it and copies header and frame out of guest memory, under the lock; {@link #perform} hands the
 * frames to the backend without it; {@link #complete} returns the chains to the driver and counts, under the lock
 * again, with one notification for the batch. The copy is taken at once so that {@link #perform} depends on nothing
 * the guest can change.
 */
final class TransmitBatch implements QueueWork {
    /** Destination and source addresses and the type (IEEE 802.3 §3.1.1): the shortest frame there is. */
    static final int ETHERNET_HEADER = 14;

    /** Room for at least three of the largest frames, or a queue's worth of small ones (TCP acknowledgements). */
    static final int STAGING_BYTES = 4 * (VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME);

    private final VirtioNet device;
    private final NetBackend backend;
    private final byte[] staging = new byte[STAGING_BYTES];
    private final int[] heads = new int[VirtioNet.QUEUE_SIZE];
    private final int[] offsets = new int[VirtioNet.QUEUE_SIZE];
    /** A frame's length in {@link #staging}, or -1 for a chain returned unsent (its reason in {@link #failures}). */
    private final int[] lengths = new int[VirtioNet.QUEUE_SIZE];
    private final String[] failures = new String[VirtioNet.QUEUE_SIZE];
    private int count;
    private SplitVirtqueue queue;
    private boolean inFlight;

    TransmitBatch(VirtioNet device, NetBackend backend) {
        this.device = device;
        this.backend = backend;
    }

    /**
     * Takes the available transmit chains of {@code queue}; null when there are none, or when a batch is still in
     * flight (whoever holds it takes the rest after completing it). Under the transport's lock.
     *
     * @param skip bytes of each chain not sent: 0 when the backend takes the virtio-net header, else its 12 bytes
     */
    QueueWork take(SplitVirtqueue queue, int skip) {
        if (inFlight) {
            return null;
        }
        count = 0;
        int used = 0;
        DescriptorChain chain;
        while (count < heads.length && STAGING_BYTES - used >= VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME
                && (chain = queue.pop()) != null) {
            heads[count] = chain.headIndex();
            failures[count] = null;
            lengths[count] = -1;
            long frameLength = chain.readableBytes() - VirtioNet.HEADER_SIZE;
            if (frameLength < 0) {
                failures[count] = "transmit chain of " + chain.readableBytes()
                        + " bytes has no room for the 12-byte header";
            } else if (frameLength < ETHERNET_HEADER) {
                // No destination, source and type: no frame at all (passt ends its connection on one: tap.c).
                failures[count] = "transmit frame of " + frameLength + " bytes is shorter than an Ethernet header";
            } else if (frameLength > Math.min(VirtioNet.MAX_FRAME, backend.maxFrame())) {
                failures[count] = "transmit frame of " + frameLength + " bytes is longer than "
                        + Math.min(VirtioNet.MAX_FRAME, backend.maxFrame()) + ", the most " + backend.name() + " takes";
            } else {
                // With offloads the header goes along: it may ask the host to finish a checksum or a segment.
                int length = (int) frameLength + VirtioNet.HEADER_SIZE - skip;
                chain.readFromReadable(skip, staging, used, length);
                String refusal = skip != 0 ? null
                        : TransmitHeader.refusal(staging, used, (int) frameLength, device.acceptedOffloads());
                if (refusal == null) {
                    offsets[count] = used;
                    lengths[count] = length;
                    used += length;
                } else {
                    failures[count] = refusal;
                }
            }
            count++;
        }
        if (count == 0) {
            return null;
        }
        this.queue = queue;
        inFlight = true;
        return this;
    }

    /** Hands each frame to the backend; a refusal is kept as that frame's failure. Without the lock. */
    @Override
    public void perform() {
        for (int i = 0; i < count; i++) {
            if (lengths[i] >= 0) {
                try {
                    backend.transmit(staging, offsets[i], lengths[i]);
                } catch (IOException e) {
                    failures[i] = backend.name() + " refused a frame: " + e.getMessage();
                }
            }
        }
    }

    /** Returns every chain to the driver (§2.7.8: a transmit chain is used with nothing written), then counts. */
    @Override
    public void complete() {
        inFlight = false;
        for (int i = 0; i < count; i++) {
            queue.addUsed(heads[i], 0);
            if (failures[i] != null) {
                device.drop(failures[i]);
            } else {
                device.sent();
            }
        }
        device.transmitted(queue);
    }
}
