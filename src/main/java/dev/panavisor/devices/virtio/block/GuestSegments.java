package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A request's data as it lies in guest memory: {@code count} stretches of guest-physical memory, in chain order,
 * contiguous on the disk. Kept as addresses and lengths rather than {@link ByteBuffer} views so that a backend that
 * can do native vectored I/O ({@link FileDiskBackend}: one preadv) writes the host addresses straight into its iovec
 * array, with no object per segment; {@link #views()} gives the buffers for any other backend. Every stretch was
 * checked against guest memory when the descriptor chain was loaded, and is checked again where it is used (a host
 * address in the backend, a view here).
 */
public record GuestSegments(GuestMemory memory, long[] addresses, int[] lengths, int count) {
    /** Largest piece handed to the backend at once; ByteBuffer views are int-sized. */
    private static final int MAX_TRANSFER = 1 << 30;

    /**
     * Where the request's data lies in guest memory: for a read the device-writable segments (minus the trailing
     * status byte), for a write the device-readable segments after the 16-byte header, {@code length} bytes in all.
     * They go to the backend together, as one scattered transfer: a 1 MiB read from a guest's user buffer is
     * typically 256 page-sized segments, and one system call each cost most of its time. Addresses and lengths are
     * copied out of the chain, which the queue reuses at its next pop.
     */
    static GuestSegments of(DescriptorChain chain, boolean toGuest, long length, GuestMemory memory) {
        int first = toGuest ? chain.readableSegmentCount() : 0;
        int end = toGuest ? chain.segmentCount() : chain.readableSegmentCount();
        long skip = toGuest ? 0 : BlockRequest.HEADER_SIZE;
        long remaining = length;
        int capacity = Math.max(1, end - first);
        long[] addresses = new long[capacity];
        int[] lengths = new int[capacity];
        int count = 0;
        for (int i = first; i < end && remaining > 0; i++) {
            long segmentLength = chain.length(i);
            if (skip >= segmentLength) {
                skip -= segmentLength;
                continue;
            }
            long address = chain.address(i) + skip;
            long bytes = Math.min(segmentLength - skip, remaining);
            skip = 0;
            while (bytes > 0) {
                int piece = (int) Math.min(bytes, MAX_TRANSFER);
                if (count == addresses.length) { // a segment longer than MAX_TRANSFER takes several pieces
                    addresses = Arrays.copyOf(addresses, count * 2);
                    lengths = Arrays.copyOf(lengths, count * 2);
                }
                addresses[count] = address;
                lengths[count] = piece;
                count++;
                address += piece;
                bytes -= piece;
                remaining -= piece;
            }
        }
        return new GuestSegments(memory, addresses, lengths, count);
    }

    /** The stretches as little-endian buffer views of guest memory. */
    public ByteBuffer[] views() {
        ByteBuffer[] views = new ByteBuffer[count];
        for (int i = 0; i < count; i++) {
            views[i] = memory.buffer(addresses[i], lengths[i]);
        }
        return views;
    }

    /** Bytes in all stretches. */
    public long totalBytes() {
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += lengths[i];
        }
        return total;
    }
}
