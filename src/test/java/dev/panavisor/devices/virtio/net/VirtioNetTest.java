package dev.panavisor.devices.virtio.net;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.QueueWork;
import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The network device against a driver played by {@link DriverQueue}s on heap memory and a recording backend. */
class VirtioNetTest {
    static final long RX_RING = 0x1000;
    static final long TX_RING = 0x8000;
    static final long BUFFERS = 0x20000;

    /** A backend that keeps what it is sent, or refuses everything. */
    static final class RecordingBackend implements NetBackend {
        final List<byte[]> frames = new ArrayList<>();
        boolean refuse;
        int maxFrame = VirtioNet.MAX_FRAME;

        @Override
        public int maxFrame() {
            return maxFrame;
        }

        @Override
        public void transmit(byte[] frame, int offset, int length) throws IOException {
            if (refuse) {
                throw new IOException("link down");
            }
            frames.add(Arrays.copyOfRange(frame, offset, offset + length));
        }

        @Override
        public String name() {
            return "fake0";
        }
    }

    final GuestMemory memory = new HeapGuestMemory(1 << 20);
    final RecordingBackend backend = new RecordingBackend();
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final int[] wakeups = new int[1];
    final VirtioNet device = new VirtioNet(backend, MacAddress.parse("02:aa:bb:cc:dd:ee"), () -> wakeups[0]++);
    final QueueLayout rxLayout = QueueLayout.contiguous(RX_RING, VirtioNet.QUEUE_SIZE);
    final QueueLayout txLayout = QueueLayout.contiguous(TX_RING, VirtioNet.QUEUE_SIZE);
    final DriverQueue rx = new DriverQueue(memory, rxLayout);
    final DriverQueue tx = new DriverQueue(memory, txLayout);

    /** A driver that takes every feature but MRG_RXBUF (VirtioNetMergeableTest has the one that takes it). */
    void activate(boolean eventIdx) {
        device.activate(device.offeredFeatures() & ~VirtioNet.F_MRG_RXBUF, List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioNet.QUEUE_SIZE, eventIdx, true),
                new SplitVirtqueue(memory, txLayout, VirtioNet.QUEUE_SIZE, eventIdx, true)), memory, interrupt);
    }

    static byte[] frame(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (i * 31 + seed);
        }
        return bytes;
    }

    @Test
    void is_device_1_with_version_1_and_the_mac_and_no_offloads() {
        assertEquals(1, device.deviceType());
        assertEquals(2, device.queueCount());
        long features = device.offeredFeatures();
        assertTrue(VirtioFeatures.has(features, VirtioFeatures.VERSION_1 | VirtioNet.F_MAC));
        assertTrue(VirtioFeatures.has(features, VirtioNet.F_MRG_RXBUF), "mergeable receive buffers");
        // §5.1.3: CSUM, GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN, GUEST_UFO, HOST_TSO4, STATUS, CTRL_VQ, MQ.
        for (int bit : new int[] {0, 1, 7, 8, 9, 10, 11, 16, 17, 22}) {
            assertEquals(0, features & (1L << bit), "offload or feature bit " + bit + " is not offered");
        }
        assertEquals(0xccbbaa02L, device.readConfig(0, 4));
        assertEquals(0xeedd, device.readConfig(4, 2));
        assertEquals(0xee, device.readConfig(5, 1));
        assertEquals(0, device.readConfig(6, 2), "no status field without VIRTIO_NET_F_STATUS");
        device.writeConfig(0, 4, 0);
        assertEquals(0xccbbaa02L, device.readConfig(0, 4), "the MAC is read-only");
    }

    @Test
    void a_transmitted_frame_reaches_the_backend_without_its_header_and_the_chain_comes_back() {
        activate(false);
        byte[] payload = frame(1000, 3);
        memory.fill(BUFFERS, VirtioNet.HEADER_SIZE, (byte) 0);
        memory.write(BUFFERS + VirtioNet.HEADER_SIZE, payload);
        // Header and frame in one descriptor, as Linux sends them.
        int head = tx.add(readable(BUFFERS, VirtioNet.HEADER_SIZE + payload.length));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(1, backend.frames.size());
        assertArrayEquals(payload, backend.frames.getFirst());
        DriverQueue.Used used = tx.pollUsed();
        assertEquals(head, used.head());
        assertEquals(0, used.writtenBytes(), "the device writes nothing into a transmit chain");
        assertEquals(List.of("used"), interrupt.events);
        assertEquals(1, device.framesSent());
    }

    @Test
    void a_frame_split_over_descriptors_is_sent_whole_and_a_batch_is_one_interrupt() {
        activate(false);
        byte[] first = frame(60, 1);
        byte[] second = frame(1514, 2);
        memory.write(BUFFERS + 12, first, 0, 20);
        memory.write(BUFFERS + 0x1000, first, 20, 40);
        memory.write(BUFFERS + 0x3000 + 12, second);
        tx.add(readable(BUFFERS, 12 + 20), readable(BUFFERS + 0x1000, 40));
        tx.add(readable(BUFFERS + 0x3000, 12), readable(BUFFERS + 0x3000 + 12, second.length));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(2, backend.frames.size());
        assertArrayEquals(first, backend.frames.get(0));
        assertArrayEquals(second, backend.frames.get(1));
        assertEquals(List.of("used"), interrupt.events);
    }

    /**
     * A failure the transport found (a broken transmit queue, served on the worker) reaches the device: it takes no
     * more frames into the receive queue until the driver resets it.
     */
    @Test
    void after_a_failure_no_frame_is_taken_until_the_driver_resets() {
        activate(false);
        rx.add(writable(BUFFERS, 2048));
        assertTrue(device.canReceive());
        device.failed();
        assertFalse(device.canReceive());
        assertFalse(device.receive(frame(60, 1), 60));
        device.reset();
        activate(false);
        rx.add(writable(BUFFERS, 2048));
        assertTrue(device.canReceive(), "a reset device takes frames again");
    }

    @Test
    void a_received_frame_gets_a_zero_header_with_one_buffer_and_the_used_length_counts_both() {
        activate(false);
        assertEquals(1, wakeups[0], "activation wakes the host side");
        assertFalse(device.canReceive());
        device.queueNotify(VirtioNet.RECEIVE_QUEUE);
        assertEquals(1, wakeups[0], "a notification with still no buffer does not");
        int head = rx.add(writable(BUFFERS, 12 + 1518));
        device.queueNotify(VirtioNet.RECEIVE_QUEUE);
        assertEquals(2, wakeups[0], "the first buffer after the host side found none does");
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        device.queueNotify(VirtioNet.RECEIVE_QUEUE);
        assertEquals(2, wakeups[0], "a host side that has buffers is not woken again");
        memory.fill(BUFFERS, 64, (byte) 0x77);
        byte[] payload = frame(98, 9);
        assertTrue(device.canReceive());
        assertTrue(device.receive(payload, payload.length));
        DriverQueue.Used used = rx.pollUsed();
        assertEquals(head, used.head());
        assertEquals(12 + 98, used.writtenBytes());
        byte[] header = memory.readBytes(BUFFERS, 12);
        byte[] expected = new byte[12];
        expected[10] = 1; // num_buffers, little-endian u16
        assertArrayEquals(expected, header, "flags 0, GSO_NONE, no checksum offsets, num_buffers 1");
        assertArrayEquals(payload, memory.readBytes(BUFFERS + 12, 98));
        assertEquals(List.of("used"), interrupt.events);
        assertEquals(1, device.framesReceived());
    }

    @Test
    void without_receive_buffers_a_frame_is_not_taken_and_the_driver_is_asked_to_notify() {
        activate(true);
        assertFalse(device.canReceive());
        assertEquals(0, rx.availEvent(), "avail_event: wake me at the next buffer");
        assertFalse(device.receive(frame(60, 0), 60), "no buffer: the host side keeps the frame");
        assertEquals(0, device.droppedFrames());
        rx.add(writable(BUFFERS, 1530));
        assertTrue(device.canReceive());
        assertTrue(device.receive(frame(60, 0), 60));
        assertFalse(device.canReceive());
        assertEquals(1, rx.availEvent(), "asks again after the buffer it used");
    }

    @Test
    void a_frame_larger_than_the_buffer_is_dropped_with_a_reason_and_the_buffer_returned_empty() {
        activate(false);
        rx.add(writable(BUFFERS, 100));
        memory.fill(BUFFERS, 100, (byte) 0x55);
        assertTrue(device.receive(frame(200, 0), 200));
        DriverQueue.Used used = rx.pollUsed();
        assertEquals(0, used.writtenBytes());
        byte[] untouched = new byte[100];
        Arrays.fill(untouched, (byte) 0x55);
        assertArrayEquals(untouched, memory.readBytes(BUFFERS, 100), "nothing written into a buffer too small");
        assertEquals(1, device.droppedFrames());
        assertTrue(device.lastDropReason().contains("200 bytes"), device.lastDropReason());
        assertEquals(0, device.framesReceived());
    }

    @Test
    void hostile_transmit_chains_are_returned_unsent() {
        activate(false);
        tx.add(readable(BUFFERS, 8)); // shorter than the header
        tx.add(readable(BUFFERS, 12 + VirtioNet.MAX_FRAME + 1)); // longer than any frame
        tx.add(writable(BUFFERS, 100)); // nothing readable at all
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertTrue(backend.frames.isEmpty());
        assertEquals(3, device.droppedFrames());
        for (int i = 0; i < 3; i++) {
            assertEquals(0, tx.pollUsed().writtenBytes());
        }
        assertNull(tx.pollUsed());
    }

    /**
     * A frame shorter than an Ethernet header, or longer than the backend takes (passt: 65,535 bytes, and it ends its
     * connection on either, which would take the guest's network down): dropped with a reason, never sent.
     */
    @Test
    void frames_no_backend_could_take_are_dropped_not_sent() {
        activate(false);
        tx.add(readable(BUFFERS, 12)); // a header and no frame
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertTrue(device.lastDropReason().contains("0 bytes is shorter than an Ethernet header"),
                device.lastDropReason());
        tx.add(readable(BUFFERS, 12 + 13));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        tx.add(readable(BUFFERS, 12 + 14)); // the shortest frame there is
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(2, device.droppedFrames());
        assertEquals(1, backend.frames.size());
        backend.maxFrame = 65_535;
        tx.add(readable(BUFFERS, 12 + 65_536));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals("transmit frame of 65536 bytes is longer than 65535, the most fake0 takes",
                device.lastDropReason());
        tx.add(readable(BUFFERS, 12 + 65_535));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(3, device.droppedFrames());
        assertEquals(2, backend.frames.size());
    }

    @Test
    void a_backend_error_drops_the_frame_and_the_device_keeps_going() {
        activate(false);
        backend.refuse = true;
        tx.add(readable(BUFFERS, 12 + 60));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(1, device.droppedFrames());
        assertTrue(device.lastDropReason().contains("link down"), device.lastDropReason());
        backend.refuse = false;
        tx.add(readable(BUFFERS, 12 + 60));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(1, backend.frames.size());
    }

    @Test
    void transmitted_frames_are_taken_then_sent_then_returned_in_three_steps() {
        activate(false);
        byte[] payload = frame(300, 7);
        memory.write(BUFFERS + VirtioNet.HEADER_SIZE, payload);
        int head = tx.add(readable(BUFFERS, VirtioNet.HEADER_SIZE + payload.length));
        QueueWork work = device.takeWork(VirtioNet.TRANSMIT_QUEUE); // under the transport's lock
        assertNotNull(work);
        memory.fill(BUFFERS, VirtioNet.HEADER_SIZE + payload.length, (byte) 0x55); // the guest changes its mind
        assertNull(device.takeWork(VirtioNet.TRANSMIT_QUEUE), "one batch in flight at a time");
        assertTrue(backend.frames.isEmpty());
        work.perform(); // without the lock: the backend gets the frame as it was taken
        assertArrayEquals(payload, backend.frames.getFirst());
        assertNull(tx.pollUsed(), "the chain goes back only when the batch completes");
        assertEquals(0, device.framesSent());
        work.complete(); // under the lock again
        assertEquals(head, tx.pollUsed().head());
        assertEquals(1, device.framesSent());
        assertEquals(List.of("used"), interrupt.events);
        assertNull(device.takeWork(VirtioNet.TRANSMIT_QUEUE), "nothing left to take");
    }

    @Test
    void a_batch_of_the_largest_frames_stops_when_its_staging_area_is_full_and_the_next_takes_the_rest() {
        activate(false);
        int chainBytes = VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME;
        int frames = TransmitBatch.STAGING_BYTES / chainBytes + 1;
        for (int i = 0; i < frames; i++) {
            memory.write(BUFFERS + (long) i * chainBytes + VirtioNet.HEADER_SIZE, frame(VirtioNet.MAX_FRAME, i));
            tx.add(readable(BUFFERS + (long) i * chainBytes, chainBytes));
        }
        QueueWork first = device.takeWork(VirtioNet.TRANSMIT_QUEUE);
        first.perform();
        first.complete();
        assertEquals(frames - 1, backend.frames.size());
        QueueWork second = device.takeWork(VirtioNet.TRANSMIT_QUEUE);
        second.perform();
        second.complete();
        assertEquals(frames, backend.frames.size());
        for (int i = 0; i < frames; i++) {
            assertArrayEquals(frame(VirtioNet.MAX_FRAME, i), backend.frames.get(i), "frame " + i);
        }
        assertEquals(frames, device.framesSent());
    }

    @Test
    void before_activation_and_after_reset_nothing_is_received_or_sent() {
        assertFalse(device.canReceive());
        assertFalse(device.receive(frame(60, 0), 60));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        activate(false);
        device.reset();
        tx.add(readable(BUFFERS, 12 + 60));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertFalse(device.receive(frame(60, 0), 60));
        assertTrue(backend.frames.isEmpty());
    }

    @Test
    void a_receive_chain_outside_guest_memory_breaks_the_device_until_reset_and_writes_nothing() {
        activate(false);
        rx.add(writable((1 << 20) - 4, 4096));
        assertFalse(device.receive(frame(60, 0), 60));
        assertEquals(1, interrupt.events.size());
        assertTrue(interrupt.events.getFirst().startsWith("failed: "), interrupt.events.toString());
        rx.add(writable(BUFFERS, 1530));
        assertFalse(device.canReceive(), "broken until the driver resets it");
        assertFalse(device.receive(frame(60, 0), 60));
        assertEquals(0, device.framesReceived());
        device.reset();
        DriverQueue fresh = new DriverQueue(memory, rxLayout);
        activate(false);
        fresh.add(writable(BUFFERS, 1530));
        assertTrue(device.receive(frame(60, 0), 60), "a reset device works again");
    }

    @Test
    void a_hostile_available_index_on_the_receive_queue_breaks_the_device_instead_of_throwing() {
        activate(false);
        rx.setAvailIdx(VirtioNet.QUEUE_SIZE + 1);
        assertFalse(device.canReceive());
        assertTrue(interrupt.events.getFirst().startsWith("failed: "), interrupt.events.toString());
    }

    @Test
    void mac_addresses_parse_strictly() {
        assertEquals("02:70:76:00:00:01", MacAddress.DEFAULT.toString());
        assertEquals(0x02, MacAddress.DEFAULT.octet(0) & 0x03, "locally administered, unicast");
        assertEquals("0a:0b:0c:0d:0e:0f", MacAddress.parse("0A:0b:0C:0d:0E:0f").toString());
        for (String bad : new String[] {"", "02:00:00:00:00", "02:00:00:00:00:00:00", "02-00-00-00-00-01",
                "02:00:00:00:00:1", "02:00:00:00:00:zz", "01:00:5e:00:00:01"}) {
            assertThrows(IllegalArgumentException.class, () -> MacAddress.parse(bad), bad);
        }
    }

    @Test
    void a_burst_of_received_frames_raises_one_interrupt_at_its_end() {
        activate(false);
        for (int i = 0; i < 3; i++) {
            rx.add(writable(BUFFERS + 0x1000L * i, 1530));
        }
        for (int i = 0; i < 3; i++) {
            assertTrue(device.receiveInBurst(frame(60, i), 60));
        }
        assertTrue(interrupt.events.isEmpty(), "no interrupt inside the burst");
        device.endBurst();
        assertEquals(List.of("used"), interrupt.events);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(frame(60, i), memory.readBytes(BUFFERS + 0x1000L * i + 12, 60));
        }
        device.endBurst();
        assertEquals(List.of("used"), interrupt.events, "nothing new, no second interrupt");
    }
}
