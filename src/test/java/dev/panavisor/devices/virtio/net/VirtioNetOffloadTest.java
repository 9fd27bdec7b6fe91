package dev.panavisor.devices.virtio.net;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/**
 * A backend that carries offloads (a TAP with virtio-net headers): the device offers them, tells the backend which
 * the driver took (and none after a reset), and passes headers through both ways: the guest's NEEDS_CSUM and GSO
 * fields reach the host side untouched, and a 64 KiB TCP segment from the host lands in a big receive buffer with
 * its header and num_buffers 1.
 */
class VirtioNetOffloadTest {
    static final long RX_RING = 0x1000;
    static final long TX_RING = 0x8000;
    static final long BUFFERS = 0x20000;

    /** Records frames (header included) and every offloadsAccepted call. */
    static final class OffloadBackend implements NetBackend {
        final List<byte[]> frames = new ArrayList<>();
        final List<Long> accepted = new ArrayList<>();

        @Override
        public void transmit(byte[] frame, int offset, int length) {
            frames.add(Arrays.copyOfRange(frame, offset, offset + length));
        }

        @Override
        public String name() {
            return "tap-offload";
        }

        @Override
        public long offloads() {
            return VirtioNet.OFFLOADS;
        }

        @Override
        public void offloadsAccepted(long features) {
            accepted.add(features);
        }
    }

    final GuestMemory memory = new HeapGuestMemory(1 << 20);
    final OffloadBackend backend = new OffloadBackend();
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final VirtioNet device = new VirtioNet(backend, MacAddress.parse("02:aa:bb:cc:dd:ee"), () -> { });
    final QueueLayout rxLayout = QueueLayout.contiguous(RX_RING, VirtioNet.QUEUE_SIZE);
    final QueueLayout txLayout = QueueLayout.contiguous(TX_RING, VirtioNet.QUEUE_SIZE);
    final DriverQueue rx = new DriverQueue(memory, rxLayout);
    final DriverQueue tx = new DriverQueue(memory, txLayout);

    void activate(long features) {
        device.activate(features, List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioNet.QUEUE_SIZE, false, true),
                new SplitVirtqueue(memory, txLayout, VirtioNet.QUEUE_SIZE, false, true)), memory, interrupt);
    }

    /** struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers (§5.1.6). */
    static byte[] header(int flags, int gsoType, int headerLength, int gsoSize, int csumStart, int csumOffset) {
        byte[] h = new byte[VirtioNet.HEADER_SIZE];
        h[0] = (byte) flags;
        h[1] = (byte) gsoType;
        int[] words = {headerLength, gsoSize, csumStart, csumOffset};
        for (int i = 0; i < words.length; i++) {
            h[2 + 2 * i] = (byte) words[i];
            h[3 + 2 * i] = (byte) (words[i] >> 8);
        }
        return h;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    @Test
    void the_backend_s_offloads_are_offered_and_it_learns_which_the_driver_took_and_none_after_a_reset() {
        long offered = device.offeredFeatures();
        assertTrue(VirtioFeatures.has(offered, VirtioNet.OFFLOADS | VirtioNet.F_MAC | VirtioFeatures.VERSION_1));
        assertEquals(VirtioNet.F_MRG_RXBUF, offered & (1L << 15), "MRG_RXBUF, with or without offloads");
        long taken = VirtioFeatures.VERSION_1 | VirtioNet.F_CSUM | VirtioNet.F_GUEST_CSUM | VirtioNet.F_GUEST_TSO4;
        activate(taken);
        assertEquals(List.of(VirtioNet.F_CSUM | VirtioNet.F_GUEST_CSUM | VirtioNet.F_GUEST_TSO4), backend.accepted);
        device.reset();
        assertEquals(0L, backend.accepted.getLast(), "a reset turns the host side's receive offloads off");
    }

    @Test
    void a_segment_the_guest_sends_keeps_its_header_so_the_host_finishes_checksum_and_segmentation() {
        activate(device.offeredFeatures());
        // NEEDS_CSUM, GSO TCPv4: 54 bytes of headers, 1448-byte segments, checksum from byte 34 at offset 16.
        byte[] header = header(1, 1, 54, 1448, 34, 16);
        byte[] frame = VirtioNetTest.frame(60_000, 9);
        memory.write(BUFFERS, header);
        memory.write(BUFFERS + 0x100, frame);
        tx.add(readable(BUFFERS, header.length), readable(BUFFERS + 0x100, frame.length));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(1, backend.frames.size());
        assertArrayEquals(concat(header, frame), backend.frames.getFirst(), "header and frame, byte for byte");
        assertEquals(0, device.droppedFrames());
    }

    /**
     * A header that asks the host for more than the driver agreed to (§5.1.6.2.1) is dropped with a reason, never
     * handed to the TAP, whose kernel would do it: flags a driver may not set, a checksum without CSUM or beyond the
     * frame, a segment type not accepted (UDP, ECN, TCPv6 without HOST_TSO6), a segment without NEEDS_CSUM or size.
     */
    @Test
    void a_transmit_header_asking_for_what_the_driver_did_not_accept_is_dropped_not_sent() {
        activate(VirtioFeatures.VERSION_1 | VirtioNet.F_CSUM | VirtioNet.F_HOST_TSO4);
        byte[] frame = VirtioNetTest.frame(1_000, 3);
        Object[][] cases = {
                {header(2, 0, 0, 0, 0, 0), "sets flags 0x2"}, // DATA_VALID: the device's to set
                {header(4, 0, 0, 0, 0, 0), "sets flags 0x4"}, // RSC_INFO
                {header(1, 0, 0, 0, 990, 16), "lies beyond the frame's 1000 bytes"},
                {header(1, 3, 54, 1448, 34, 16), "GSO type 3"}, // UDP
                {header(1, 0x81, 54, 1448, 34, 16), "GSO type 129"}, // TCPv4 with ECN
                {header(1, 4, 74, 1448, 54, 16), "GSO type 4"}, // TCPv6 without HOST_TSO6
                {header(0, 1, 54, 1448, 34, 16), "without NEEDS_CSUM"},
                {header(1, 1, 54, 0, 34, 16), "without a segment size"},
        };
        for (Object[] c : cases) {
            byte[] header = (byte[]) c[0];
            memory.write(BUFFERS, concat(header, frame));
            tx.add(readable(BUFFERS, header.length + frame.length));
            device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
            assertTrue(device.lastDropReason().contains((String) c[1]), c[1] + ": " + device.lastDropReason());
        }
        assertEquals(cases.length, device.droppedFrames());
        assertTrue(backend.frames.isEmpty(), "none reached the host");
        // What was agreed is sent: a TCP segment over IPv4, a checksum alone (Linux's most common header), none.
        byte[][] agreed = {header(1, 1, 54, 1448, 34, 16), header(1, 0, 0, 0, 34, 16), header(0, 0, 0, 0, 0, 0)};
        for (byte[] header : agreed) {
            memory.write(BUFFERS, concat(header, frame));
            tx.add(readable(BUFFERS, VirtioNet.HEADER_SIZE + frame.length));
            device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        }
        assertEquals(3, backend.frames.size());
        assertEquals(cases.length, device.droppedFrames());
    }

    @Test
    void a_tcp_v6_segment_is_sent_when_the_driver_took_host_tso6() {
        activate(VirtioFeatures.VERSION_1 | VirtioNet.F_CSUM | VirtioNet.F_HOST_TSO6);
        byte[] frame = VirtioNetTest.frame(9_000, 5);
        memory.write(BUFFERS, concat(header(1, 4, 74, 1428, 54, 16), frame));
        tx.add(readable(BUFFERS, VirtioNet.HEADER_SIZE + frame.length));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals(1, backend.frames.size());
        assertEquals(0, device.droppedFrames());
    }

    @Test
    void a_transmit_checksum_without_csum_accepted_is_dropped() {
        activate(VirtioFeatures.VERSION_1);
        byte[] frame = VirtioNetTest.frame(100, 3);
        memory.write(BUFFERS, concat(header(1, 0, 0, 0, 34, 16), frame));
        tx.add(readable(BUFFERS, VirtioNet.HEADER_SIZE + frame.length));
        device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
        assertEquals("transmit header asks for a checksum, and the driver did not accept CSUM",
                device.lastDropReason());
        assertTrue(backend.frames.isEmpty());
    }

    @Test
    void a_64k_segment_from_the_host_fills_a_big_buffer_with_its_header_and_num_buffers_1() {
        activate(device.offeredFeatures());
        // Linux's "big packets" buffer without MRG_RXBUF: the header, then a chain of pages.
        DriverQueue.Segment[] big = new DriverQueue.Segment[18];
        big[0] = writable(BUFFERS, VirtioNet.HEADER_SIZE);
        for (int i = 1; i < big.length; i++) {
            big[i] = writable(BUFFERS + 0x1000L * i, 0x1000);
        }
        int head = rx.add(big);
        byte[] hostHeader = header(1, 1, 66, 1448, 34, 16);
        hostHeader[10] = 0x55; // whatever the host side left in num_buffers: the device's to set
        byte[] segment = VirtioNetTest.frame(65_000, 4);
        byte[] delivered = concat(hostHeader, segment);

        assertTrue(device.receive(delivered, delivered.length));

        DriverQueue.Used used = rx.pollUsed();
        assertEquals(head, used.head());
        assertEquals(VirtioNet.HEADER_SIZE + segment.length, used.writtenBytes());
        byte[] expectedHeader = hostHeader.clone();
        expectedHeader[10] = 1;
        expectedHeader[11] = 0;
        assertArrayEquals(expectedHeader, memory.readBytes(BUFFERS, VirtioNet.HEADER_SIZE));
        byte[] landed = new byte[segment.length];
        for (int at = 0; at < segment.length; at += 0x1000) {
            int n = Math.min(0x1000, segment.length - at);
            memory.read(BUFFERS + 0x1000L * (1 + at / 0x1000), landed, at, n);
        }
        assertArrayEquals(segment, landed);
        assertEquals(1, device.framesReceived());
    }

    @Test
    void a_received_frame_shorter_than_its_header_is_dropped_and_counted_and_takes_no_buffer() {
        activate(device.offeredFeatures());
        rx.add(writable(BUFFERS, 2048));
        assertTrue(device.receive(new byte[8], 8));
        assertEquals(1, device.droppedFrames());
        assertTrue(device.lastDropReason().contains("shorter than its 12-byte header"), device.lastDropReason());
        assertEquals(null, rx.pollUsed(), "the buffer stays the driver's");
    }

    /** Each dropped frame is counted; its reason reaches the event log at the 1st, 10th, 100th... drop only. */
    @Test
    void dropped_frames_are_reported_at_each_power_of_ten() {
        List<String> reported = new java.util.ArrayList<>();
        device.onDrop(reported::add);
        activate(device.offeredFeatures());
        rx.add(writable(BUFFERS, 2048));
        for (int i = 0; i < 100; i++) {
            assertTrue(device.receive(new byte[8], 8));
        }
        assertEquals(100, device.droppedFrames());
        assertEquals(3, reported.size(), reported.toString());
        assertTrue(reported.getFirst().contains("frame dropped (1 so far): received frame of 8 bytes is shorter"),
                reported.getFirst());
        assertTrue(reported.get(1).contains("(10 so far)") && reported.get(2).contains("(100 so far)"),
                reported.toString());
    }

    /**
     * A received header may ask only what the driver accepted (§5.1.6.4.1): without GUEST_CSUM a partial checksum
     * is dropped and the DATA_VALID hint cleared, and a TCP segment without GUEST_TSO4 is dropped; each dropped frame
     * gives its buffer back empty and is counted.
     */
    @Test
    void a_received_header_asking_more_than_the_driver_accepted_is_dropped_or_cleared() {
        activate(VirtioFeatures.VERSION_1 | VirtioNet.F_CSUM | VirtioNet.F_HOST_TSO4); // transmit offloads only
        byte[] payload = VirtioNetTest.frame(200, 5);
        rx.add(writable(BUFFERS, 2048));
        rx.add(writable(BUFFERS + 0x1000, 2048));
        rx.add(writable(BUFFERS + 0x2000, 2048));

        assertTrue(device.receive(concat(header(1, 0, 0, 0, 34, 16), payload), 12 + payload.length));
        assertEquals(0, rx.pollUsed().writtenBytes(), "a partial checksum the driver cannot finish: dropped");
        assertTrue(device.receive(concat(header(0, 1, 54, 1448, 0, 0), payload), 12 + payload.length));
        assertEquals(0, rx.pollUsed().writtenBytes(), "a TCPv4 segment without GUEST_TSO4: dropped");
        assertEquals(2, device.droppedFrames());

        assertTrue(device.receive(concat(header(2, 0, 0, 0, 0, 0), payload), 12 + payload.length));
        assertEquals(12 + payload.length, rx.pollUsed().writtenBytes());
        assertEquals(0, memory.readU8(BUFFERS + 0x2000), "DATA_VALID cleared: flags must be 0 without GUEST_CSUM");
        assertEquals(1, memory.readU8(BUFFERS + 0x2000 + 10), "num_buffers");
        assertArrayEquals(payload, memory.readBytes(BUFFERS + 0x2000 + 12, payload.length));
    }
}
