package dev.panavisor.devices.virtio.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.HostileDriver;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import dev.panavisor.testing.FuzzLimits;
import dev.panavisor.testing.FuzzRandom;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;

/**
 * The network device (virtio 1.2 §5.1) between a host sending frames and a driver that posts receive and transmit
 * chains of any shape and now and then scribbles hostile descriptors over a queue.
 *
 * <p>Properties, up to the first hostile queue: every transmitted frame reaches the backend whole and in order;
 * every frame the host offers is either refused (no buffer: the host keeps it) or lands in the next receive buffer
 * whole with its header, or is dropped with a reason because the buffer is too small. {@code receive} never throws
 * (a malformed receive queue is a reported failure); a notification throws only the typed exceptions the transport
 * turns into DEVICE_NEEDS_RESET; no host memory outside the guest's is touched. Half the cases use a backend that
 * carries offloads (a TAP): headers then pass through both ways, the received one with num_buffers set by the
 * device, and a transmitted one that asks for more than the driver accepted is dropped (§5.1.6.2.1; the headers
 * are zero, Linux-like or random bytes, and {@link #driverMaySend} says which the device must pass). The driver
 * takes mergeable receive buffers or not: with them a frame may fill several buffers, as many as its num_buffers
 * says.
 */
@Tag("fuzz")
class VirtioNetFuzzTest {
    static final long MEMORY = 0x20000;

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void frames_arrive_whole_and_in_order_and_hostile_queues_become_a_reported_failure(FuzzedDataProvider data) {
        oneCase(new FuzzRandom(data));
    }

    static void oneCase(Random random) {
        GuardedGuestMemory memory = GuardedGuestMemory.scrambled(random.nextLong(), MEMORY, 2_000_000);
        List<byte[]> transmitted = new ArrayList<>();
        boolean offloads = random.nextBoolean();
        // A quarter of the cases scribble over a queue at some step; the others keep their queues well-formed to the
        // end, where every frame is checked. (A scribble open to every step, one choice in five, came in nearly every
        // case within its first steps, and the check of the frames was almost never reached.)
        boolean scribbles = random.nextInt(4) == 0;
        NetBackend backend = new NetBackend() {
            @Override
            public void transmit(byte[] frame, int offset, int length) throws IOException {
                transmitted.add(Arrays.copyOfRange(frame, offset, offset + length));
            }

            @Override
            public String name() {
                return "fuzz";
            }

            @Override
            public long offloads() {
                return offloads ? VirtioNet.OFFLOADS : 0;
            }
        };
        // With offloads the bytes the guest sees start at the header; without, the frame starts after it.
        int skip = offloads ? 0 : VirtioNet.HEADER_SIZE;
        VirtioNet net = new VirtioNet(backend, MacAddress.DEFAULT, () -> { });
        QueueLayout rxLayout = QueueLayout.contiguous(0x1000, 64);
        QueueLayout txLayout = QueueLayout.contiguous(0x2000, 64);
        DriverQueue rx = new DriverQueue(memory, rxLayout);
        DriverQueue tx = new DriverQueue(memory, txLayout);
        RecordingInterrupt interrupt = new RecordingInterrupt();
        // A driver with mergeable receive buffers (a frame may fill several, num_buffers says how many) or without.
        boolean mergeable = random.nextBoolean();
        net.activate(mergeable ? net.offeredFeatures() : net.offeredFeatures() & ~VirtioNet.F_MRG_RXBUF, List.of(
                new SplitVirtqueue(memory, rxLayout, 64, random.nextBoolean(), true),
                new SplitVirtqueue(memory, txLayout, 64, random.nextBoolean(), true)), memory, interrupt);
        List<byte[]> sent = new ArrayList<>();
        List<byte[]> delivered = new ArrayList<>();
        List<byte[]> received = new ArrayList<>();
        long[] rxBuffers = new long[64];
        java.util.Set<Long> pendingRx = new java.util.HashSet<>();
        boolean hostile = false;
        for (int step = 30 + random.nextInt(100); step > 0; step--) {
            try {
                switch (random.nextInt(hostile || !scribbles ? 4 : 5)) {
                    case 0 -> {
                        // With offloads the host side's frames start with its header (any bytes; a few too short).
                        byte[] frame = new byte[(offloads ? random.nextInt(40) : 14) + random.nextInt(600)];
                        random.nextBytes(frame);
                        long droppedBefore = net.droppedFrames();
                        if (net.receive(frame.clone(), frame.length) && net.droppedFrames() == droppedBefore) {
                            delivered.add(frame); // num_buffers (bytes 10-11 with offloads) is checked apart
                        }
                    }
                    case 1 -> {
                        if (rx.freeDescriptors() > 0) {
                            long address = 0x4000 + 0x400L * random.nextInt(32);
                            int length = 1 + random.nextInt(0x400);
                            // A driver never posts a buffer that overlaps one the device still holds: two frames
                            // would land in the same bytes and the first would be lost before it is read.
                            if (!pendingRx.contains(address)) {
                                int head = rx.add(DriverQueue.writable(address, length));
                                rxBuffers[head] = address;
                                pendingRx.add(address);
                                net.queueNotify(VirtioNet.RECEIVE_QUEUE);
                            }
                        }
                    }
                    case 2 -> {
                        if (tx.freeDescriptors() > 2) {
                            byte[] frame = new byte[14 + random.nextInt(1500)];
                            random.nextBytes(frame);
                            long at = 0xc000 + 0x800L * random.nextInt(8);
                            byte[] header = new byte[VirtioNet.HEADER_SIZE];
                            if (offloads) {
                                switch (random.nextInt(3)) {
                                    case 0 -> random.nextBytes(header); // whatever they say
                                    case 1 -> { // as Linux writes them: a checksum, perhaps a TCP segment
                                        header[0] = 1;
                                        header[1] = (byte) (new int[] {0, 1, 4, 3})[random.nextInt(4)];
                                        header[4] = (byte) random.nextInt(3); // gso_size, 0 now and then
                                        header[6] = (byte) random.nextInt(256); // csum_start
                                        header[8] = (byte) (new int[] {6, 16})[random.nextInt(2)]; // UDP, TCP
                                    }
                                    default -> { } // none asked
                                }
                            }
                            memory.write(at, header);
                            memory.write(at + VirtioNet.HEADER_SIZE, frame);
                            int split = random.nextInt(VirtioNet.HEADER_SIZE + frame.length + 1);
                            tx.add(DriverQueue.readable(at, split),
                                    DriverQueue.readable(at + split, VirtioNet.HEADER_SIZE + frame.length - split));
                            if (offloads) {
                                byte[] both = Arrays.copyOf(header, header.length + frame.length);
                                System.arraycopy(frame, 0, both, header.length, frame.length);
                                // A header asking for what the driver did not accept is dropped, never sent.
                                if (driverMaySend(header, frame.length)) {
                                    sent.add(both);
                                }
                            } else {
                                sent.add(frame);
                            }
                            net.queueNotify(VirtioNet.TRANSMIT_QUEUE);
                        }
                    }
                    case 3 -> {
                        for (DriverQueue.Used used = rx.pollUsed(); used != null; used = rx.pollUsed()) {
                            if (used.writtenBytes() > 0) {
                                received.add(memory.readBytes(rxBuffers[used.head()], (int) used.writtenBytes()));
                            }
                            pendingRx.remove(rxBuffers[used.head()]);
                        }
                        while (tx.pollUsed() != null) {
                            // returned transmit chains carry nothing back
                        }
                    }
                    default -> {
                        hostile = true;
                        QueueLayout layout = random.nextBoolean() ? rxLayout : txLayout;
                        HostileDriver.scribble(((FuzzRandom) random).data(), memory, layout, MEMORY);
                        memory.writeU16(layout.availableRing() + 2, random.nextInt(65536));
                        if (layout == rxLayout) {
                            net.receive(new byte[60], 60); // never throws: a failure is reported instead
                        } else {
                            net.queueNotify(VirtioNet.TRANSMIT_QUEUE);
                        }
                    }
                }
            } catch (VirtioException | GuestMemoryException e) {
                assertTrue(hostile, "a well-formed queue was refused: " + e.getMessage());
                break; // the transport would now set DEVICE_NEEDS_RESET
            }
        }
        if (!hostile) {
            assertEquals(sent.size(), transmitted.size(), "every frame sent");
            for (int i = 0; i < sent.size(); i++) {
                assertArrayEquals(sent.get(i), transmitted.get(i), "frame " + i + " whole and in order");
            }
            for (DriverQueue.Used used = rx.pollUsed(); used != null; used = rx.pollUsed()) {
                if (used.writtenBytes() > 0) {
                    received.add(memory.readBytes(rxBuffers[used.head()], (int) used.writtenBytes()));
                }
            }
            List<byte[]> packets = packets(received, mergeable);
            assertEquals(delivered.size(), packets.size(), "every delivered frame is in used buffers");
            for (int i = 0; i < delivered.size(); i++) {
                byte[] packet = packets.get(i);
                byte[] expected = delivered.get(i);
                if (offloads) {
                    expected[10] = packet[10]; // num_buffers, the device's to set (checked by packets())
                    expected[11] = packet[11];
                }
                assertArrayEquals(expected, Arrays.copyOfRange(packet, skip, packet.length), "received frame " + i);
            }
        } else {
            assertTrue(interrupt.events.stream().filter(e -> e.startsWith("failed")).count() <= 1);
        }
        memory.assertGuardsIntact();
    }

    /**
     * The packets (header and frame) in the used receive buffers' bytes, in order: one buffer each without
     * mergeable buffers, else as many as each header's num_buffers says (§5.1.6.4), which must be at least 1.
     */
    static List<byte[]> packets(List<byte[]> buffers, boolean mergeable) {
        List<byte[]> packets = new ArrayList<>();
        int next = 0;
        while (next < buffers.size()) {
            java.io.ByteArrayOutputStream packet = new java.io.ByteArrayOutputStream();
            int first = next;
            packet.writeBytes(buffers.get(next++));
            while (packet.size() < VirtioNet.HEADER_SIZE && next < buffers.size()) {
                packet.writeBytes(buffers.get(next++)); // a header that did not fit the first buffer
            }
            byte[] bytes = packet.toByteArray();
            int count = (bytes[10] & 0xff) | (bytes[11] & 0xff) << 8;
            assertTrue(count >= 1 && (mergeable || count == 1),
                    "num_buffers " + count + " of packet " + packets.size());
            while (next < first + count && next < buffers.size()) {
                packet.writeBytes(buffers.get(next++));
            }
            assertEquals(first + count, next, "packet " + packets.size() + " has its num_buffers buffers");
            packets.add(packet.toByteArray());
        }
        return packets;
    }

    /**
     * The oracle for a transmitted header with every offload accepted, written from §5.1.6.2.1 apart from the
     * device's check: flags 0 or NEEDS_CSUM, the checksum's two bytes inside the frame, gso_type none or a TCP
     * segment (TCPv4 1, TCPv6 4) with NEEDS_CSUM and a size.
     */
    static boolean driverMaySend(byte[] header, int frameLength) {
        int flags = header[0] & 0xff;
        int gso = header[1] & 0xff;
        int gsoSize = (header[4] & 0xff) | (header[5] & 0xff) << 8;
        int csumEnd = ((header[6] & 0xff) | (header[7] & 0xff) << 8) + ((header[8] & 0xff) | (header[9] & 0xff) << 8)
                + 2;
        boolean flagsOk = flags == 0 || (flags == 1 && csumEnd <= frameLength);
        boolean gsoOk = gso == 0 || ((gso == 1 || gso == 4) && flags == 1 && gsoSize > 0);
        return flagsOk && gsoOk;
    }
}
