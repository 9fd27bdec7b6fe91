package dev.panavisor.devices.virtio.block;

import dev.panavisor.memory.GuestMemory;
import java.nio.ByteBuffer;

/**
 * A request's data as it lies in guest memory: {@code count} stretches of guest-physical memory, in chain order,
 * contiguous on the disk. Kept as addresses and lengths rather than {@link ByteBuffer} views so that a backend that
 * can do native vectored I/O ({@link FileDiskBackend}: one preadv) writes the host addresses straight into its iovec
 * array, with no object per segment; {@link #views()} gives the buffers for any other backend. Every stretch was
 * checked against guest memory when the descriptor chain was loaded, and is checked again here.
 */
public record GuestSegments(GuestMemory memory, long[] addresses, int[] lengths, int count) {

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
