package dev.panavisor.devices.virtio.net;

import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import dev.panavisor.memory.SegmentGuestMemory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Mergeable receive buffers (virtio 1.2 §5.1.6.3.2, §5.1.6.4): a frame spread over as many of the driver's small
 * buffers as it needs, the count in the header's num_buffers, and nothing taken until there are enough.
 */
class VirtioNetMergeableTest {
    static final long RX_RING = 0x1000;
    static final long TX_RING = 0x8000;
    static final long BUFFERS = 0x20000;
    /** What Linux's driver posts for a 1500-byte MTU before its average grows: header plus a full frame, rounded. */
    static final int BUFFER = 1536;

    final GuestMemory memory = new HeapGuestMemory(1 << 21);
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final VirtioNet device = new VirtioNet(new VirtioNetTest.RecordingBackend(), MacAddress.parse("02:00:00:00:00:01"),
            () -> { });
    final QueueLayout rxLayout = QueueLayout.contiguous(RX_RING, VirtioNet.QUEUE_SIZE);
    final QueueLayout txLayout = QueueLayout.contiguous(TX_RING, VirtioNet.QUEUE_SIZE);
    final DriverQueue rx = new DriverQueue(memory, rxLayout);

    VirtioNetMergeableTest() {
        device.activate(device.offeredFeatures(), List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioNet.QUEUE_SIZE, true, true),
                new SplitVirtqueue(memory, txLayout, VirtioNet.QUEUE_SIZE, true, true)), memory, interrupt);
    }

    /** Posts buffer {@code i} (single descriptors, {@code size} bytes apart), as Linux does. */
    int post(int i, int size) {
        return rx.add(writable(BUFFERS + (long) i * size, size));
    }

    @Test
    void a_frame_fills_buffers_in_order_with_their_count_in_the_header() {
        int first = post(0, BUFFER);
        int second = post(1, BUFFER);
        post(2, BUFFER);
        byte[] frame = VirtioNetTest.frame(3000, 7);
        assertTrue(device.receive(frame, frame.length));

        DriverQueue.Used used = rx.pollUsed();
        assertEquals(first, used.head());
        assertEquals(BUFFER, used.writtenBytes(), "every buffer but the last is used to its full length");
        DriverQueue.Used last = rx.pollUsed();
        assertEquals(second, last.head());
        assertEquals(VirtioNet.HEADER_SIZE + 3000 - BUFFER, last.writtenBytes());
        assertNull(rx.pollUsed(), "the third buffer stays the driver's");

        byte[] header = memory.readBytes(BUFFERS, VirtioNet.HEADER_SIZE);
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0}, header, "GSO_NONE, num_buffers 2");
        byte[] received = new byte[3000];
        System.arraycopy(memory.readBytes(BUFFERS + VirtioNet.HEADER_SIZE, BUFFER - VirtioNet.HEADER_SIZE), 0,
                received, 0, BUFFER - VirtioNet.HEADER_SIZE);
        System.arraycopy(memory.readBytes(BUFFERS + BUFFER, 3000 - (BUFFER - VirtioNet.HEADER_SIZE)), 0, received,
                BUFFER - VirtioNet.HEADER_SIZE, 3000 - (BUFFER - VirtioNet.HEADER_SIZE));
        assertArrayEquals(frame, received, "the frame continues where the first buffer ends");
        assertEquals(List.of("used"), interrupt.events, "one interrupt for the frame");
        assertEquals(1, device.framesReceived());

        assertTrue(device.receive(VirtioNetTest.frame(60, 1), 60), "a small frame takes one buffer");
        assertEquals(1, memory.readBytes(BUFFERS + 2L * BUFFER + 10, 1)[0]);
    }

    @Test
    void the_buffers_of_one_frame_become_used_together_in_a_single_index_update() {
        UsedIndexWatch watched = new UsedIndexWatch(1 << 21, rxLayout.usedRing() + 2);
        VirtioNet net = new VirtioNet(new VirtioNetTest.RecordingBackend(), MacAddress.parse("02:00:00:00:00:01"),
                () -> { });
        net.activate(net.offeredFeatures(), List.of(
                new SplitVirtqueue(watched, rxLayout, VirtioNet.QUEUE_SIZE, true, true),
                new SplitVirtqueue(watched, txLayout, VirtioNet.QUEUE_SIZE, true, true)), watched, interrupt);
        DriverQueue driver = new DriverQueue(watched, rxLayout);
        for (int i = 0; i < 50; i++) {
            driver.add(writable(BUFFERS + (long) i * BUFFER, BUFFER));
        }
        // A frame of the size of a 64 KiB TCP segment (GUEST_TSO4 lets such frames come from a TAP): 43 buffers.
        byte[] frame = VirtioNetTest.frame(65_000, 3);
        assertTrue(net.receive(frame, frame.length));
        int buffers = (VirtioNet.HEADER_SIZE + frame.length + BUFFER - 1) / BUFFER;
        // Linux's driver reads num_buffers from the first buffer and then takes that many more from the used ring:
        // an index published buffer by buffer could show it the first alone (§5.1.6.4.1).
        assertEquals(List.of(buffers), watched.writes, "one write of the used index, past all the frame's buffers");
        assertEquals(buffers, watched.readU16(BUFFERS + VirtioNet.NUM_BUFFERS));
    }

    /**
     * A hostile driver that publishes a 1-byte buffer each time the device reads the available index, without end:
     * the device counts at most a queue's worth of buffers for a frame, finds them too small, and drops the frame.
     * (It used to count on for as long as the driver went on, holding the device's lock, and could then announce
     * more buffers in num_buffers than the ring holds.)
     */
    @Test
    void a_driver_that_publishes_as_fast_as_the_device_counts_gets_its_frame_dropped() {
        long availIdx = rxLayout.availableRing() + 2;
        int[] published = {0};
        int[] head = {0};
        GuestMemory endless = new SegmentGuestMemory(java.lang.foreign.Arena.ofAuto().allocate(1 << 21, 4096)) {
            @Override
            public int readU16(long address) {
                if (address == availIdx && published[0] < 1_000_000) {
                    int idx = super.readU16(availIdx);
                    super.writeU16(rxLayout.availableRing() + 4 + 2L * (idx % VirtioNet.QUEUE_SIZE), head[0]);
                    super.writeU16(availIdx, (idx + 1) & 0xffff);
                    published[0]++;
                }
                return super.readU16(address);
            }
        };
        VirtioNet net = new VirtioNet(new VirtioNetTest.RecordingBackend(), MacAddress.parse("02:00:00:00:00:01"),
                () -> { });
        net.activate(net.offeredFeatures(), List.of(
                new SplitVirtqueue(endless, rxLayout, VirtioNet.QUEUE_SIZE, true, true),
                new SplitVirtqueue(endless, txLayout, VirtioNet.QUEUE_SIZE, true, true)), endless, interrupt);
        head[0] = new DriverQueue(endless, rxLayout).place(writable(BUFFERS, 1)); // placed, published by the reads

        byte[] frame = VirtioNetTest.frame(1500, 9);
        assertTrue(net.receive(frame, frame.length), "taken: dropped, not held");

        assertEquals(1, net.droppedFrames());
        assertTrue(net.lastDropReason().contains("does not fit the driver's whole receive queue"),
                net.lastDropReason());
        assertEquals(0, endless.readU16(rxLayout.usedRing() + 2), "no buffer used");
        assertTrue(published[0] < 1_000_000, "the device stopped looking: " + published[0] + " reads");
    }

    /** Guest memory that records every value written to one 16-bit field: here, the receive queue's used index. */
    static final class UsedIndexWatch extends SegmentGuestMemory {
        final long watchedAddress;
        final List<Integer> writes = new ArrayList<>();

        UsedIndexWatch(long size, long watchedAddress) {
            super(java.lang.foreign.Arena.ofAuto().allocate(size, 4096));
            this.watchedAddress = watchedAddress;
        }

        @Override
        public void writeU16(long address, int value) {
            if (address == watchedAddress) {
                writes.add(value);
            }
            super.writeU16(address, value);
        }
    }

    @Test
    void a_frame_waits_until_the_driver_has_posted_enough_buffers() {
        post(0, BUFFER);
        byte[] frame = VirtioNetTest.frame(3000, 3);
        assertTrue(device.canReceive(), "a buffer is there");
        assertFalse(device.receive(frame, frame.length), "but not room enough: the host side keeps the frame");
        assertNull(rx.pollUsed(), "the buffer is given back unused");
        assertEquals(1, rx.availEvent(), "avail_event: notify at the driver's next buffer, not at this one");
        assertEquals(0, device.droppedFrames());

        post(1, BUFFER);
        assertTrue(device.receive(frame, frame.length));
        assertEquals(BUFFER, rx.pollUsed().writtenBytes());
        assertEquals(VirtioNet.HEADER_SIZE + 3000 - BUFFER, rx.pollUsed().writtenBytes());
        assertFalse(device.canReceive());
    }

    @Test
    void a_frame_larger_than_a_whole_queue_of_buffers_is_dropped_not_waited_for() {
        for (int i = 0; i < VirtioNet.QUEUE_SIZE; i++) {
            post(i, 16);
        }
        byte[] frame = VirtioNetTest.frame(5000, 0);
        assertTrue(device.receive(frame, frame.length), "taken, to be dropped: no number of buffers would do");
        assertNull(rx.pollUsed(), "every buffer stays the driver's");
        assertEquals(1, device.droppedFrames());
        assertTrue(device.lastDropReason().contains("whole receive queue"), device.lastDropReason());
        assertTrue(device.receive(VirtioNetTest.frame(10, 0), 10), "a frame that fits still goes in");
        assertEquals(2, memory.readBytes(BUFFERS + 10, 1)[0], "22 bytes of header and frame take two buffers");
    }
}
