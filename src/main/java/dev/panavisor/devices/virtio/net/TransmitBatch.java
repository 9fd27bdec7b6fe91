package dev.panavisor.devices.virtio.net;

import dev.panavisor.devices.virtio.QueueWork;
import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import java.io.IOException;
import java.util.Arrays;

/**
 * The frames of one transmit notification, taken under the transport's lock and sent without it ({@link QueueWork}).
 *
 * <p>Why: a write to a TAP runs the host's network stack in the writing thread. For a TCP acknowledgement that
 * stack goes on to send the next segments of the connection, which land in the TAP's receive queue, all inside the
 * {@code write(2)}. Held under the transport's lock, that write kept the receive thread (just woken by those very
 * segments) and the vCPUs' interrupt-register reads waiting: in a nested-lab flight recording of a 16 MiB transfer
 * the receive thread waited 195 ms for the worker's lock (docs/network.md, "Measured").
 *
 * <p>So {@link #take} pops every available chain (up to a queue's worth), checks it and notes where its frame lies
 * in guest memory, under the lock; {@link #perform} hands the frames to the backend without it; {@link #complete}
 * returns the chains to the driver and counts, under the lock again, with one notification for the batch.
 *
 * <p>A backend that sends from guest memory ({@link NetBackend#sendsFromGuestMemory}: a TAP, with one
 * {@code writev(2)} over the frame's buffers) gets each frame where the driver put it, as stretches of guest memory
 * copied out of the chain (which the queue reuses at its next pop). Any other gets a copy of header and frame,
 * taken under the lock into a staging area (as many frames as fit). Either way {@link #perform} depends on nothing
 * the guest can change but the bytes it sends: lengths, counts and addresses were read and checked in {@link
 * #take}.
 */
final class TransmitBatch implements QueueWork {
    /**
     * Bytes of frames in one batch, copied or not: room for at least three of the largest frames, or a queue's worth
     * of small ones (TCP acknowledgements). The chains of a batch go back to the driver when all its frames are sent,
     * and a guest's TCP sends no more than a little beyond what it has back (TCP small queues), so a batch of large
     * frames is kept short.
     */
    static final int STAGING_BYTES = 4 * (VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME);

    private final VirtioNet device;
    private final NetBackend backend;
    /** Copies of the frames, for a backend that does not send from guest memory; made at its first batch. */
    private byte[] staging;
    private final int[] heads = new int[VirtioNet.QUEUE_SIZE];
    /** Where a frame starts: in {@link #staging}, or its first stretch's index in {@link #addresses}. */
    private final int[] offsets = new int[VirtioNet.QUEUE_SIZE];
    /** A frame's length in bytes, or -1 for a chain returned unsent (its reason in {@link #failures}). */
    private final int[] lengths = new int[VirtioNet.QUEUE_SIZE];
    /** How many stretches of guest memory a frame takes (sent from guest memory). */
    private final int[] stretches = new int[VirtioNet.QUEUE_SIZE];
    /** The frames' stretches of guest memory, in order: guest-physical addresses and lengths. */
    private long[] addresses = new long[4 * VirtioNet.QUEUE_SIZE];
    private int[] stretchLengths = new int[4 * VirtioNet.QUEUE_SIZE];
    private final String[] failures = new String[VirtioNet.QUEUE_SIZE];
    private int count;
    private SplitVirtqueue queue;
    private GuestMemory memory;
    /** This batch's frames are sent from guest memory, not from {@link #staging}. */
    private boolean direct;
    private boolean inFlight;

    TransmitBatch(VirtioNet device, NetBackend backend) {
        this.device = device;
        this.backend = backend;
    }

    /**
     * Takes the available transmit chains of {@code queue}; null when there are none, or when a batch is still in
     * flight (whoever holds it takes the rest after completing it). Under the transport's lock.
     *
     * @param memory the guest memory the queue's chains point into
     * @param skip   bytes of each chain not sent: 0 when the backend takes the virtio-net header, else its 12 bytes
     */
    QueueWork take(SplitVirtqueue queue, GuestMemory memory, int skip) {
        if (inFlight) {
            return null;
        }
        direct = backend.sendsFromGuestMemory(memory);
        if (!direct && staging == null) {
            staging = new byte[STAGING_BYTES];
        }
        count = 0;
        int bytes = 0;
        int used = 0; // bytes of staging, or stretches of addresses
        DescriptorChain chain;
        while (count < heads.length && STAGING_BYTES - bytes >= VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME
                && (chain = queue.pop()) != null) {
            heads[count] = chain.headIndex();
            failures[count] = null;
            lengths[count] = -1;
            long frameLength = chain.readableBytes() - VirtioNet.HEADER_SIZE;
            if (frameLength < 0) {
                failures[count] = "transmit chain of " + chain.readableBytes()
                        + " bytes has no room for the 12-byte header";
            } else if (frameLength > VirtioNet.MAX_FRAME) {
                failures[count] = "transmit frame of " + frameLength + " bytes is longer than " + VirtioNet.MAX_FRAME;
            } else {
                // With offloads the header goes along: it may ask the host to finish a checksum or a segment.
                int length = (int) frameLength + VirtioNet.HEADER_SIZE - skip;
                offsets[count] = used;
                lengths[count] = length;
                bytes += length;
                if (direct) {
                    int end = noteStretches(chain, skip, used);
                    stretches[count] = end - used;
                    used = end;
                } else {
                    chain.readFromReadable(skip, staging, used, length);
                    used += length;
                }
            }
            count++;
        }
        if (count == 0) {
            return null;
        }
        this.queue = queue;
        this.memory = memory;
        inFlight = true;
        return this;
    }

    /**
     * Notes the device-readable part of {@code chain}, less its first {@code skip} bytes, as stretches of guest memory
     * from index {@code at} of {@link #addresses} on; returns the index after the last. The part is at most a header
     * and {@link VirtioNet#MAX_FRAME} bytes long ({@link #take} checked), so every stretch's length fits an int.
     */
    private int noteStretches(DescriptorChain chain, long skip, int at) {
        int next = at;
        for (int i = 0; i < chain.readableSegmentCount(); i++) {
            long length = chain.length(i);
            if (skip >= length) {
                skip -= length;
                continue;
            }
            if (next == addresses.length) {
                addresses = Arrays.copyOf(addresses, next * 2);
                stretchLengths = Arrays.copyOf(stretchLengths, next * 2);
            }
            addresses[next] = chain.address(i) + skip;
            stretchLengths[next] = (int) (length - skip);
            skip = 0;
            next++;
        }
        return next;
    }

    /** Hands each frame to the backend; a refusal is kept as that frame's failure. Without the lock. */
    @Override
    public void perform() {
        for (int i = 0; i < count; i++) {
            if (lengths[i] >= 0) {
                try {
                    if (direct) {
                        backend.transmit(memory, addresses, stretchLengths, offsets[i], stretches[i]);
                    } else {
                        backend.transmit(staging, offsets[i], lengths[i]);
                    }
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
