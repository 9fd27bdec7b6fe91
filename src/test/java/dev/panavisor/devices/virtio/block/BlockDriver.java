package dev.panavisor.devices.virtio.block;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;

import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import java.util.List;

/**
 * Plays the guest's virtio-blk driver against a {@link VirtioBlock} on heap memory: builds request headers, data and
 * status buffers, publishes them through a {@link DriverQueue}, notifies, and reads back status and used length.
 */
final class BlockDriver {
    static final long HEADER = 0x10000;
    static final long STATUS = 0x10100;
    static final long DATA = 0x20000;

    final GuestMemory memory;
    final VirtioBlock device;
    final DriverQueue queue;
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final List<String> interrupts = interrupt.events;

    record Completion(int status, long usedLength) {
    }

    BlockDriver(VirtioBlock device) {
        this(device, new HeapGuestMemory(1 << 20));
    }

    /** On other memory, such as mmap'd memory (native, as a VM's), 1 MiB or more. */
    BlockDriver(VirtioBlock device, GuestMemory memory) {
        this(device, memory, false);
    }

    /** As above; {@code eventIdx}: the queue runs with VIRTIO_F_EVENT_IDX negotiated (the driver's used_event 0). */
    BlockDriver(VirtioBlock device, GuestMemory memory, boolean eventIdx) {
        this(device, memory, eventIdx, device.offeredFeatures());
    }

    /** As above, the driver accepting {@code features} of those offered. */
    BlockDriver(VirtioBlock device, GuestMemory memory, boolean eventIdx, long features) {
        this.memory = memory;
        this.device = device;
        QueueLayout layout = QueueLayout.contiguous(0x1000, VirtioBlock.QUEUE_SIZE);
        this.queue = new DriverQueue(memory, layout);
        device.activate(features,
                List.of(new SplitVirtqueue(memory, layout, VirtioBlock.QUEUE_SIZE, eventIdx, true)), memory, interrupt);
    }

    void header(long at, int type, long sector) {
        memory.writeU32(at, type);
        memory.writeU32(at + 4, 0);
        memory.writeU64(at + 8, sector);
    }

    /** Sends one request with header, data and status in separate descriptors, the way Linux lays it out. */
    Completion request(int type, long sector, DriverQueue.Segment... data) {
        header(HEADER, type, sector);
        memory.writeU8(STATUS, 0xff);
        DriverQueue.Segment[] segments = new DriverQueue.Segment[data.length + 2];
        segments[0] = readable(HEADER, 16);
        System.arraycopy(data, 0, segments, 1, data.length);
        segments[segments.length - 1] = writable(STATUS, 1);
        return submit(STATUS, segments);
    }

    Completion read(long sector, long bytes) {
        return request(BlockRequest.T_IN, sector, writable(DATA, bytes));
    }

    Completion write(long sector, byte[] data) {
        memory.write(DATA, data);
        return request(BlockRequest.T_OUT, sector, readable(DATA, data.length));
    }

    /** Publishes {@code segments} as one chain, notifies, and returns the status byte at {@code statusAddress}. */
    Completion submit(long statusAddress, DriverQueue.Segment... segments) {
        int head = queue.add(segments);
        device.queueNotify(0);
        DriverQueue.Used used = queue.pollUsed();
        if (used == null || used.head() != head) {
            throw new AssertionError("request " + head + " was not completed: " + used);
        }
        return new Completion(memory.readU8(statusAddress), used.writtenBytes());
    }
}
