package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.queue.DescriptorChain;

/**
 * One virtio-blk request of a batch ({@link VirtioBlock#takeWork}): parsed on the serving thread under the device's
 * lock, its I/O run without the lock on any thread (a helper's, for a large one), answered on the serving thread
 * under the lock again. It keeps what it needs of its chain,
 * since the queue reuses the chain object for the next pop. The serving thread hands it to a helper and joins it
 * through a {@code CompletableFuture}, which orders every write to these fields before the reads that follow.
 */
final class PendingRequest {
    final int head;
    final long writableBytes;
    final BlockRequest request = new BlockRequest();
    /** Where the data lies in guest memory, found while parsing; null for requests without data. */
    GuestSegments buffers;
    BlockStatus status = BlockStatus.IOERR;
    /** Why the request failed; null when it succeeded or was dropped. */
    String error;
    /** The failure was the host file's ({@link BlockRequestException#hostSide}). */
    boolean hostError;
    boolean dropped;
    /** Answered while parsing (get-id), or failed then: nothing left to run. */
    boolean done;
    long dataWritten;
    /** A failure that must reach the transport (guest memory out of range, a bug), rethrown on the serving thread. */
    Throwable fault;
    BlockRequestEvent event;

    PendingRequest(DescriptorChain chain) {
        this.head = chain.headIndex();
        this.writableBytes = chain.writableBytes();
    }

    boolean movesData() {
        return !done && buffers != null;
    }
}
