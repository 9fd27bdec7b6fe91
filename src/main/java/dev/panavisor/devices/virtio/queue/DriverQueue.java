package dev.panavisor.devices.virtio.queue;

import dev.panavisor.memory.GuestMemory;
import java.util.Arrays;

/**
 * The driver's side of a split virtqueue, played by Java code: a mock guest driver for tests and benchmarks.
 *
 * <p>It lays out and zeroes the rings (what a driver does before QueueReady, §4.2.3.2), places buffers in free
 * descriptors and publishes their heads (§2.7.13), and collects used entries (§2.7.14), returning their descriptors
 * to its free list. For hostile-driver tests it can also write raw descriptors and indices.
 *
 * <p>It lives in main rather than test so that JMH benchmarks (which only see main classes) can use it. The VMM
 * uses it only to warm up: {@code vmm.ExitPathWarmUp} plays a guest driver on scratch memory.
 */
public final class DriverQueue {
    /** One buffer element: guest address, length, and whether the device may write it. */
    public record Segment(long address, long length, boolean deviceWritable) {
    }

    /** One entry the device put in the used ring. */
    public record Used(int head, long writtenBytes) {
    }

    public static Segment readable(long address, long length) {
        return new Segment(address, length, false);
    }

    public static Segment writable(long address, long length) {
        return new Segment(address, length, true);
    }

    private final GuestMemory memory;
    private final QueueLayout layout;
    private final int size;
    private final int[] freeStack;
    private int freeCount;
    /** Number of table descriptors each published head owns, to free them when the head comes back. */
    private final int[] chainLength;
    private int availIdx;
    private int lastSeenUsedIdx;

    /** Zeroes the queue's memory and puts every descriptor on the free list. */
    public DriverQueue(GuestMemory memory, QueueLayout layout) {
        this.memory = memory;
        this.layout = layout;
        this.size = layout.size();
        memory.fill(layout.descriptorTable(), QueueLayout.descriptorTableBytes(size), (byte) 0);
        memory.fill(layout.availableRing(), QueueLayout.availableRingBytes(size), (byte) 0);
        memory.fill(layout.usedRing(), QueueLayout.usedRingBytes(size), (byte) 0);
        this.freeStack = new int[size];
        for (int i = 0; i < size; i++) {
            freeStack[i] = size - 1 - i;
        }
        this.freeCount = size;
        this.chainLength = new int[size];
    }

    public QueueLayout layout() {
        return layout;
    }

    public int freeDescriptors() {
        return freeCount;
    }

    /**
     * Places {@code segments} in free descriptors as one chain (readable ones must come first) and publishes it.
     *
     * @return the head descriptor index
     */
    public int add(Segment... segments) {
        int head = place(segments);
        publish(head);
        return head;
    }

    /** Places a chain without publishing it, returning its head; {@link #publish} it later (batching). */
    public int place(Segment... segments) {
        if (segments.length == 0 || segments.length > freeCount) {
            throw new IllegalStateException("need " + segments.length + " free descriptors, have " + freeCount);
        }
        int[] indices = new int[segments.length];
        for (int i = 0; i < segments.length; i++) {
            indices[i] = freeStack[--freeCount];
        }
        for (int i = 0; i < segments.length; i++) {
            Segment s = segments[i];
            boolean last = i == segments.length - 1;
            int flags = (s.deviceWritable() ? DescriptorChain.F_WRITE : 0) | (last ? 0 : DescriptorChain.F_NEXT);
            writeDescriptor(indices[i], s.address(), s.length(), flags, last ? 0 : indices[i + 1]);
        }
        chainLength[indices[0]] = segments.length;
        return indices[0];
    }

    /**
     * Writes {@code segments} as an indirect table at {@code tableAddress} and publishes one queue descriptor that
     * refers to it (§2.7.5.3). Needs VIRTIO_F_INDIRECT_DESC.
     */
    public int addIndirect(long tableAddress, Segment... segments) {
        for (int i = 0; i < segments.length; i++) {
            Segment s = segments[i];
            boolean last = i == segments.length - 1;
            int flags = (s.deviceWritable() ? DescriptorChain.F_WRITE : 0) | (last ? 0 : DescriptorChain.F_NEXT);
            writeDescriptorAt(tableAddress + 16L * i, s.address(), s.length(), flags, last ? 0 : i + 1);
        }
        int head = freeStack[--freeCount];
        writeDescriptor(head, tableAddress, 16L * segments.length, DescriptorChain.F_INDIRECT, 0);
        chainLength[head] = 1;
        publish(head);
        return head;
    }

    /** Raw access for hostile tests: writes descriptor {@code index} of the queue's table as given. */
    public void writeDescriptor(int index, long address, long length, int flags, int next) {
        writeDescriptorAt(layout.descriptorTable() + 16L * index, address, length, flags, next);
    }

    private void writeDescriptorAt(long at, long address, long length, int flags, int next) {
        memory.writeU64(at, address);
        memory.writeU32(at + 8, (int) length);
        memory.writeU16(at + 12, flags);
        memory.writeU16(at + 14, next);
    }

    /** Puts {@code head} in the next available ring slot and advances the available index. */
    public void publish(int head) {
        memory.writeU16(layout.availableRing() + 4 + 2L * (availIdx % size), head);
        availIdx = (availIdx + 1) & 0xffff;
        memory.writeU16(layout.availableRing() + 2, availIdx);
    }

    /** Raw access for hostile and wraparound tests: sets the available index the device will see. */
    public void setAvailIdx(int idx) {
        availIdx = idx & 0xffff;
        memory.writeU16(layout.availableRing() + 2, availIdx);
    }

    public int availIdx() {
        return availIdx;
    }

    /** Takes the next used entry, returning its descriptors to the free list; null when there is none. */
    public Used pollUsed() {
        int usedIdx = memory.readU16(layout.usedRing() + 2);
        if (usedIdx == lastSeenUsedIdx) {
            return null;
        }
        long element = layout.usedRing() + 4 + 8L * (lastSeenUsedIdx % size);
        int head = (int) memory.readU32(element);
        long written = memory.readU32(element + 4);
        lastSeenUsedIdx = (lastSeenUsedIdx + 1) & 0xffff;
        free(head);
        return new Used(head, written);
    }

    private void free(int head) {
        if (head < 0 || head >= size || chainLength[head] == 0) {
            return; // not a chain this driver placed (raw hostile tests)
        }
        int index = head;
        int n = chainLength[head];
        for (int i = 0; i < n; i++) {
            freeStack[freeCount++] = index;
            index = memory.readU16(layout.descriptorTable() + 16L * index + 14);
        }
        chainLength[head] = 0;
    }

    /** The used index the device published. */
    public int usedIdx() {
        return memory.readU16(layout.usedRing() + 2);
    }

    /** VIRTIO_F_EVENT_IDX, driver side: "interrupt me once the used index passes {@code value}" (§2.7.7). */
    public void setUsedEvent(int value) {
        memory.writeU16(layout.availableRing() + 4 + 2L * size, value);
    }

    /** VIRTIO_F_EVENT_IDX, device side: the available index at which the device wants the next notification. */
    public int availEvent() {
        return memory.readU16(layout.usedRing() + 4 + 8L * size);
    }

    /** Without EVENT_IDX: set or clear VIRTQ_AVAIL_F_NO_INTERRUPT. */
    public void setNoInterrupt(boolean suppress) {
        memory.writeU16(layout.availableRing(), suppress ? SplitVirtqueue.AVAIL_F_NO_INTERRUPT : 0);
    }

    @Override
    public String toString() {
        return "DriverQueue" + Arrays.asList(layout, availIdx, lastSeenUsedIdx);
    }
}
