package dev.panavisor.devices.virtio.queue;

import dev.panavisor.memory.GuestMemory;

/**
 * One buffer the driver made available: the descriptor chain that starts at a head index, flattened into a list
 * of guest-memory segments, the device-readable ones first and then the device-writable ones (virtio 1.2 §2.7.4,
 * "Message Framing", §2.7.5).
 *
 * <p>Loading a chain checks everything a hostile driver could get wrong, so that code using a chain never has to:
 * every index is inside its table, every segment lies entirely inside guest memory, the chain has at most
 * queue-size descriptors (so a loop in the {@code next} links ends as an error after at most that many steps
 * rather than spinning), indirect tables are used only when negotiated, are not nested and are well formed
 * (§2.7.5.3.1), and no device-readable descriptor follows a device-writable one.
 *
 * <p>A queue owns one chain object and reuses it on every pop, so the hot path allocates nothing: a chain is valid
 * until the next pop from the same queue.
 */
public final class DescriptorChain {
    static final int F_NEXT = 1;
    static final int F_WRITE = 2;
    static final int F_INDIRECT = 4;

    private final GuestMemory memory;
    /** The memory's size, asked once: every descriptor is checked against it. */
    private final long memorySize;
    private final long descriptorTable;
    private final int queueSize;
    private final boolean indirectAllowed;

    private final long[] addresses;
    private final int[] lengths;
    private int count;
    private int readableCount;
    private long readableBytes;
    private long writableBytes;
    private int head;
    /** Room for one indirect table of up to queue-size descriptors (two longs each), made at the first one. */
    private long[] indirectCopy;

    DescriptorChain(GuestMemory memory, QueueLayout layout, boolean indirectAllowed) {
        this.memory = memory;
        this.memorySize = memory.size();
        this.descriptorTable = layout.descriptorTable();
        this.queueSize = layout.size();
        this.indirectAllowed = indirectAllowed;
        this.addresses = new long[queueSize];
        this.lengths = new int[queueSize];
    }

    /** Walks the chain starting at descriptor {@code headIndex}; throws {@link VirtqueueException} if malformed. */
    void load(int headIndex) {
        count = 0;
        readableCount = 0;
        readableBytes = 0;
        writableBytes = 0;
        head = headIndex;
        if (headIndex >= queueSize) {
            throw new VirtqueueException(String.format(
                    "available ring names descriptor %d, outside the descriptor table of %d", headIndex, queueSize));
        }
        long table = descriptorTable;
        int tableSize = queueSize;
        boolean inIndirectTable = false;
        long[] copy = null; // the indirect table's descriptors, copied out of guest memory at once
        int index = headIndex;
        while (true) {
            // struct virtq_desc (§2.7.5): le64 addr, then le32 len, le16 flags, le16 next, read as two le64s.
            long address;
            long rest;
            if (copy != null) {
                address = copy[2 * index];
                rest = copy[2 * index + 1];
            } else {
                long descriptor = table + (long) QueueLayout.DESCRIPTOR_SIZE * index;
                address = memory.readU64(descriptor);
                rest = memory.readU64(descriptor + 8);
            }
            long length = rest & 0xffff_ffffL;
            int flags = (int) (rest >>> 32) & 0xffff;
            int next = (int) (rest >>> 48);

            if ((flags & F_INDIRECT) != 0) {
                checkIndirect(inIndirectTable, flags, address, length);
                // §2.7.5.3: the table's first descriptor is index 0; its WRITE flag is ignored.
                table = address;
                tableSize = (int) (length / QueueLayout.DESCRIPTOR_SIZE);
                inIndirectTable = true;
                index = 0;
                copy = copyOfTable(address, tableSize);
                continue;
            }
            append(address, length, (flags & F_WRITE) != 0);
            if ((flags & F_NEXT) == 0) {
                return;
            }
            if (next >= tableSize) {
                throw new VirtqueueException(String.format(
                        "descriptor chain from head %d links to descriptor %d, outside its table of %d", head, next,
                        tableSize));
            }
            index = next;
        }
    }

    /**
     * An indirect table of {@code entries} descriptors at {@code address}, copied in one read of guest memory, or
     * null for a table longer than the queue (no correct driver makes one: a chain has at most queue-size
     * descriptors, §2.7.5.3.1), which is then read descriptor by descriptor. Linux puts a 1 MiB read's 258
     * descriptors in such a table: one copy costs less than 516 checked reads of guest memory, above all with the
     * lab's C1-only JIT (docs/performance.md, "The request path in Java"). The copy is also what the walk then
     * checks and uses, so a driver changing the table meanwhile changes nothing.
     */
    private long[] copyOfTable(long address, int entries) {
        if (entries > queueSize) {
            return null;
        }
        if (indirectCopy == null) {
            indirectCopy = new long[2 * queueSize];
        }
        memory.readU64s(address, indirectCopy, 2 * entries);
        return indirectCopy;
    }

    private void checkIndirect(boolean inIndirectTable, int flags, long address, long length) {
        if (!indirectAllowed) {
            throw new VirtqueueException("descriptor chain from head " + head
                    + " uses an indirect table, but VIRTIO_F_INDIRECT_DESC was not negotiated");
        }
        if (inIndirectTable) {
            throw new VirtqueueException("descriptor chain from head " + head + " nests indirect tables");
        }
        if ((flags & F_NEXT) != 0) {
            throw new VirtqueueException("descriptor chain from head " + head
                    + " sets both INDIRECT and NEXT in one descriptor");
        }
        if (length == 0 || length % QueueLayout.DESCRIPTOR_SIZE != 0) {
            throw new VirtqueueException(String.format(
                    "indirect table of chain from head %d has length %d, not a positive multiple of 16", head,
                    length));
        }
        if (!memory.contains(address, length)) {
            throw new VirtqueueException(String.format(
                    "indirect table of chain from head %d at 0x%x (%d bytes) is outside guest memory", head,
                    address, length));
        }
    }

    private void append(long address, long length, boolean writable) {
        if (count == queueSize) {
            throw new VirtqueueException(String.format(
                    "descriptor chain from head %d is longer than the queue size %d (a loop in the next links?)",
                    head, queueSize));
        }
        if (!GuestMemory.within(address, length, memorySize)) {
            throw new VirtqueueException(String.format(
                    "descriptor %d of chain from head %d points at 0x%x (%d bytes), outside guest memory (size 0x%x)",
                    count, head, address, length, memory.size()));
        }
        if (!writable && count > readableCount) {
            throw new VirtqueueException("descriptor chain from head " + head
                    + " has a device-readable descriptor after a device-writable one");
        }
        addresses[count] = address;
        lengths[count] = (int) length; // u32 kept in an int's bits; read back with Integer.toUnsignedLong
        count++;
        if (writable) {
            writableBytes += length;
        } else {
            readableCount++;
            readableBytes += length;
        }
    }

    /** The descriptor index the driver published; what goes back in the used ring. */
    public int headIndex() {
        return head;
    }

    /** Number of segments (descriptors, after flattening an indirect table). */
    public int segmentCount() {
        return count;
    }

    /** Segments 0 .. readableSegmentCount()-1 are device-readable, the rest device-writable. */
    public int readableSegmentCount() {
        return readableCount;
    }

    public long address(int segment) {
        return addresses[segment];
    }

    /** Length in bytes of a segment, 0 .. 2^32-1. */
    public long length(int segment) {
        return Integer.toUnsignedLong(lengths[segment]);
    }

    public boolean isWritable(int segment) {
        return segment >= readableCount;
    }

    /** Total bytes the device may read. */
    public long readableBytes() {
        return readableBytes;
    }

    /** Total bytes the device may write. */
    public long writableBytes() {
        return writableBytes;
    }

    /**
     * Copies {@code length} bytes starting {@code offset} bytes into the device-readable part into {@code dst}.
     *
     * @return bytes copied: fewer than {@code length} when the readable part ends first
     */
    public int readFromReadable(long offset, byte[] dst, int dstOffset, int length) {
        int copied = 0;
        long skip = offset;
        for (int i = 0; i < readableCount && copied < length; i++) {
            long segmentLength = length(i);
            if (skip >= segmentLength) {
                skip -= segmentLength;
                continue;
            }
            int chunk = (int) Math.min(segmentLength - skip, length - copied);
            memory.read(addresses[i] + skip, dst, dstOffset + copied, chunk);
            copied += chunk;
            skip = 0;
        }
        return copied;
    }

    /**
     * Copies {@code length} bytes from {@code src} into the device-writable part, starting {@code offset} bytes
     * into it.
     *
     * @return bytes copied: fewer than {@code length} when the writable part ends first
     */
    public int writeToWritable(long offset, byte[] src, int srcOffset, int length) {
        int copied = 0;
        long skip = offset;
        for (int i = readableCount; i < count && copied < length; i++) {
            long segmentLength = length(i);
            if (skip >= segmentLength) {
                skip -= segmentLength;
                continue;
            }
            int chunk = (int) Math.min(segmentLength - skip, length - copied);
            memory.write(addresses[i] + skip, src, srcOffset + copied, chunk);
            copied += chunk;
            skip = 0;
        }
        return copied;
    }

    /**
     * The guest-physical address of byte {@code offset} of the device-writable part, or -1 if it has fewer bytes.
     * Used to find a request's trailing status byte wherever the driver's framing put it.
     */
    public long writableAddress(long offset) {
        long skip = offset;
        for (int i = readableCount; i < count; i++) {
            long segmentLength = length(i);
            if (skip < segmentLength) {
                return addresses[i] + skip;
            }
            skip -= segmentLength;
        }
        return -1;
    }
}
