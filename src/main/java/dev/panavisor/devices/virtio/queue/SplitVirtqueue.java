package dev.panavisor.devices.virtio.queue;

import dev.panavisor.memory.GuestMemory;
import java.lang.invoke.VarHandle;

/**
 * The device's side of one split virtqueue (virtio 1.2 §2.7), working on guest memory only.
 *
 * <p>The driver publishes descriptor chain heads in the available ring and advances its 16-bit {@code idx}; the
 * device {@link #pop() pops} them in order, does the work, and {@link #addUsed(int, int) adds} each head to the
 * used ring with the number of bytes it wrote. Both indices are free-running and wrap at 65536 (§2.7.13.3), so all
 * index arithmetic here is modulo 2^16 and ring slots are {@code idx % size}.
 *
 * <p>Hostile drivers: the available index may never run more than the queue size ahead of what the device has
 * consumed (the driver cannot have published more heads than there are descriptors), so a larger jump is an error
 * rather than a reason to process up to 65535 bogus entries; each chain is bounded and bounds-checked by
 * {@link DescriptorChain}. Every guest access goes through {@link GuestMemory}, which checks ranges again.
 *
 * <p>Notification suppression, both directions (§2.7.7, §2.7.10): with VIRTIO_F_EVENT_IDX the device publishes
 * {@code avail_event} (whenever it finds the ring empty, "wake me at the next buffer") and honours the driver's
 * {@code used_event} in {@link #needsNotification()}; without it the device always wants notifications and honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT.
 *
 * <p>Memory ordering: the driver runs on other CPUs while the device reads the rings, so the fences follow the
 * spec's barriers: acquire after reading the available {@code idx} (then read ring entries and descriptors), release
 * before publishing the used {@code idx}, and a full fence between publishing an index and reading the other side's
 * event index, which is the store-load ordering the "re-check after enabling notifications" pattern needs.
 */
public final class SplitVirtqueue {
    /** In the available ring's flags: the driver does not want used buffer notifications (no EVENT_IDX). */
    static final int AVAIL_F_NO_INTERRUPT = 1;

    private final GuestMemory memory;
    private final QueueLayout layout;
    private final int size;
    private final boolean eventIdx;
    private final DescriptorChain chain;

    /** Offsets of the idx fields and of the event words that follow each ring. */
    private final long availIdxAddress;
    private final long availRingAddress;
    private final long usedEventAddress;
    private final long usedIdxAddress;
    private final long usedRingAddress;
    private final long availEventAddress;

    private int lastAvailIdx;
    private int nextUsedIdx;
    /** Used elements written by {@link #fillUsed} after nextUsedIdx and not yet published. */
    private int filledUsed;
    private int usedIdxAtLastNotification;
    private boolean enabled = true;
    /** A polling device's worker asks for notifications itself, before it sleeps ({@link #holdNotifications}). */
    private boolean notificationsHeld;

    /**
     * @param eventIdx whether VIRTIO_F_EVENT_IDX was negotiated
     * @param indirect whether VIRTIO_F_INDIRECT_DESC was negotiated
     * @throws VirtqueueException when the layout is not usable (see {@link QueueLayout#validate})
     */
    public SplitVirtqueue(GuestMemory memory, QueueLayout layout, int maxSize, boolean eventIdx, boolean indirect) {
        layout.validate(memory, maxSize);
        this.memory = memory;
        this.layout = layout;
        this.size = layout.size();
        this.eventIdx = eventIdx;
        this.chain = new DescriptorChain(memory, layout, indirect);
        this.availIdxAddress = layout.availableRing() + 2;
        this.availRingAddress = layout.availableRing() + 4;
        this.usedEventAddress = availRingAddress + 2L * size;
        this.usedIdxAddress = layout.usedRing() + 2;
        this.usedRingAddress = layout.usedRing() + 4;
        this.availEventAddress = usedRingAddress + 8L * size;
    }

    public int size() {
        return size;
    }

    public QueueLayout layout() {
        return layout;
    }

    /**
     * Stops all access to the queue's memory (the driver wrote 0 to QueueReady, §4.2.2): afterwards the queue looks
     * empty and adds are dropped.
     */
    public void disable() {
        enabled = false;
    }

    public boolean isEnabled() {
        return enabled;
    }

    /**
     * Whether the driver has published a chain the device has not popped yet. When the ring is empty and EVENT_IDX
     * is on, this also asks the driver to notify at its next buffer, then looks once more to close the race with a
     * driver that published just before reading {@code avail_event}.
     */
    public boolean hasAvailable() {
        if (!enabled) {
            return false;
        }
        int pending = pendingCount();
        if (pending == 0 && eventIdx && !notificationsHeld) {
            memory.writeU16(availEventAddress, lastAvailIdx);
            VarHandle.fullFence();
            pending = pendingCount();
        }
        VarHandle.acquireFence();
        return pending > 0;
    }

    /**
     * Until {@link #releaseNotifications}, finding the ring empty no longer asks the driver to notify: a device
     * worker that polls the ring for a while after serving it (docs/devices.md, "Polling before sleeping") leaves
     * {@code avail_event} behind, so with EVENT_IDX the driver's next chains make no notification, hence no exit
     * (§2.7.10: the driver notifies only when its index crosses {@code avail_event}). Without EVENT_IDX the driver
     * notifies at every chain anyway, and this changes nothing.
     */
    public void holdNotifications() {
        notificationsHeld = true;
    }

    /**
     * Ends {@link #holdNotifications}: asks the driver to notify at its next chain and looks once more, as
     * {@link #hasAvailable} does on an empty ring. A worker calls it before it sleeps; if it returns true a chain
     * came meanwhile, for which no notification may come, and the worker serves it instead of sleeping.
     */
    public boolean releaseNotifications() {
        notificationsHeld = false;
        return hasAvailable();
    }

    /** Whether a chain is available, looked at without asking for a notification: for a polling worker. */
    public boolean peekAvailable() {
        boolean pending = enabled && pendingCount() > 0;
        VarHandle.acquireFence();
        return pending;
    }

    private int pendingCount() {
        int availIdx = memory.readU16(availIdxAddress);
        int pending = (availIdx - lastAvailIdx) & 0xffff;
        if (pending > size) {
            throw new VirtqueueException(String.format(
                    "driver moved the available index from %d to %d, more than the queue size %d ahead", lastAvailIdx,
                    availIdx, size));
        }
        return pending;
    }

    /**
     * Takes the next available descriptor chain, or returns null when there is none.
     * The returned object is reused: it is valid until the next call.
     *
     * @throws VirtqueueException when the ring or the chain is malformed
     */
    public DescriptorChain pop() {
        if (!hasAvailable()) {
            return null;
        }
        int head = memory.readU16(availRingAddress + 2L * (lastAvailIdx % size));
        lastAvailIdx = (lastAvailIdx + 1) & 0xffff;
        chain.load(head);
        return chain;
    }

    /**
     * Gives back the last {@code count} chains {@link #pop}ped and not used: they are available again, in the same
     * order (QEMU's virtqueue_unpop). For a device that found it needs more buffers than the driver has made
     * available so far (virtio-net's mergeable receive buffers).
     */
    public void unpop(int count) {
        lastAvailIdx = (lastAvailIdx - count) & 0xffff;
    }

    /**
     * Asks the driver to notify at the next chain it makes available, even though some are available now (with
     * EVENT_IDX, {@code avail_event} becomes the driver's current available index; without it the driver notifies
     * at every chain anyway). Returns whether the driver made one available meanwhile: then no notification may
     * come for it, and the caller looks again.
     */
    public boolean notifyAtNextChain() {
        if (!enabled || !eventIdx) {
            return false;
        }
        int availIdx = memory.readU16(availIdxAddress);
        memory.writeU16(availEventAddress, availIdx);
        VarHandle.fullFence();
        return memory.readU16(availIdxAddress) != availIdx;
    }

    /**
     * Returns chain {@code head} to the driver, saying the device wrote {@code writtenBytes} bytes into its
     * device-writable part (§2.7.8). The entry is written before the index that publishes it.
     */
    public void addUsed(int head, int writtenBytes) {
        fillUsed(head, writtenBytes);
        flushUsed();
    }

    /**
     * Writes a used element after those already filled, without publishing it (QEMU's {@code virtqueue_fill}): the
     * driver sees none of them until {@link #flushUsed}. For buffers the driver must see used together: a received
     * packet spread over several mergeable buffers (§5.1.6.4.1: "the device MUST use all buffers used by a single
     * receive packet together, such that at least num_buffers are observed by driver as used").
     */
    public void fillUsed(int head, int writtenBytes) {
        if (!enabled) {
            return;
        }
        // size divides 2^16, so the ring slot of index (nextUsedIdx + filled) mod 2^16 is simply this:
        long element = usedRingAddress + 8L * ((nextUsedIdx + filledUsed) % size);
        memory.writeU32(element, head);
        memory.writeU32(element + 4, writtenBytes);
        filledUsed++;
    }

    /** Publishes every element filled since the last flush, with one write of the used index (virtqueue_flush). */
    public void flushUsed() {
        if (!enabled || filledUsed == 0) {
            return;
        }
        nextUsedIdx = (nextUsedIdx + filledUsed) & 0xffff;
        filledUsed = 0;
        VarHandle.releaseFence();
        memory.writeU16(usedIdxAddress, nextUsedIdx);
    }

    /**
     * Whether the driver wants a used buffer notification for the entries added since the last time this returned
     * (§2.7.7). Call once after a batch of {@link #addUsed}; it remembers what it has covered.
     *
     * <p>With EVENT_IDX: notify when the used index crossed {@code used_event}, that is when used_event lies in
     * [old, new) modulo 2^16; written as {@code (new - used_event - 1) mod 2^16 < (new - old) mod 2^16}.
     */
    public boolean needsNotification() {
        int newIdx = nextUsedIdx;
        int oldIdx = usedIdxAtLastNotification;
        usedIdxAtLastNotification = newIdx;
        if (!enabled || newIdx == oldIdx) {
            return false;
        }
        VarHandle.fullFence();
        if (eventIdx) {
            int usedEvent = memory.readU16(usedEventAddress);
            return ((newIdx - usedEvent - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
        }
        return (memory.readU16(layout.availableRing()) & AVAIL_F_NO_INTERRUPT) == 0;
    }

    /** The device's next available index: how many chains it has popped, modulo 2^16. */
    public int lastAvailIdx() {
        return lastAvailIdx;
    }

    /** The used index the device has published. */
    public int usedIdx() {
        return nextUsedIdx;
    }
}
