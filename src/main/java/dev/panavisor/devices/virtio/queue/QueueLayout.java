package dev.panavisor.devices.virtio.queue;

import dev.panavisor.memory.GuestMemory;

/**
 * Where the three parts of one split virtqueue live in guest memory, and how many entries it has
 * (virtio 1.2 §2.7: descriptor table, available ring, used ring).
 *
 * <pre>
 * part              alignment  size (bytes)            set by the driver through (virtio-mmio)
 * descriptor table  16         16 * size               QueueDescLow/High
 * available ring    2          6 + 2 * size            QueueDriverLow/High
 * used ring         4          6 + 8 * size            QueueDeviceLow/High
 * </pre>
 *
 * The 6 bytes are flags and idx (2 each) plus the trailing used_event / avail_event word that exists with
 * VIRTIO_F_EVENT_IDX; reserving it always costs nothing and keeps the bounds check simple.
 */
public record QueueLayout(int size, long descriptorTable, long availableRing, long usedRing) {
    /** The largest queue size a split virtqueue may have (§2.7). */
    public static final int MAX_SIZE = 32768;
    public static final int DESCRIPTOR_SIZE = 16;

    /** A queue laid out contiguously from {@code base}, each part at its required alignment; for drivers and tests. */
    public static QueueLayout contiguous(long base, int size) {
        long descriptors = alignUp(base, 16);
        long available = descriptors + descriptorTableBytes(size);
        long used = alignUp(available + availableRingBytes(size), 4);
        return new QueueLayout(size, descriptors, available, used);
    }

    /** First byte after the used ring: where the next structure may go. */
    public long end() {
        return usedRing + usedRingBytes(size);
    }

    public static long descriptorTableBytes(int size) {
        return (long) DESCRIPTOR_SIZE * size;
    }

    public static long availableRingBytes(int size) {
        return 6 + 2L * size;
    }

    public static long usedRingBytes(int size) {
        return 6 + 8L * size;
    }

    /**
     * Checks what the device must be able to rely on before it touches the queue: a size that is a power of two
     * no larger than {@code maxSize}, parts at their alignment, and every part inside guest memory.
     *
     * @throws VirtqueueException naming the first thing that is wrong
     */
    public void validate(GuestMemory memory, int maxSize) {
        if (size <= 0 || size > Math.min(maxSize, MAX_SIZE) || Integer.bitCount(size) != 1) {
            throw new VirtqueueException(String.format(
                    "queue size %d is not a power of two between 1 and the device's maximum %d", size, maxSize));
        }
        checkPart(memory, "descriptor table", descriptorTable, 16, descriptorTableBytes(size));
        checkPart(memory, "available ring", availableRing, 2, availableRingBytes(size));
        checkPart(memory, "used ring", usedRing, 4, usedRingBytes(size));
    }

    private static void checkPart(GuestMemory memory, String part, long address, int alignment, long bytes) {
        if (address % alignment != 0) {
            throw new VirtqueueException(String.format("%s at 0x%x is not %d-byte aligned", part, address, alignment));
        }
        if (!memory.contains(address, bytes)) {
            throw new VirtqueueException(String.format("%s at 0x%x (%d bytes) is outside guest memory (size 0x%x)",
                    part, address, bytes, memory.size()));
        }
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
