package dev.panavisor.devices.virtio.vsock;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.HostileDriver;
import dev.panavisor.memory.GuestMemoryException;
import dev.panavisor.testing.FuzzLimits;
import dev.panavisor.testing.FuzzRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;

/**
 * The vsock device (virtio 1.2 §5.10) against a driver that sends packets with any header (ops, types, CIDs, ports,
 * lengths, credit), chains shorter than their header or their {@code len}, rx buffers too small for a header, and
 * now and then a scribbled queue; and host streams that write, end, stall or fail at any time.
 *
 * <p>Properties: the device never sends a connection more RW data than the guest's last advertised credit
 * ({@code buf_alloc - (sent - fwd_cnt)}); a notification throws only the typed queue exceptions the transport turns
 * into DEVICE_NEEDS_RESET, and only after a scribbled queue; host-side calls never throw; open connections stay
 * within the device's limit; every step ends (the harness's time box is the last guard).
 */
@Tag("fuzz")
class VirtioVsockFuzzTest {
    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void hostile_packets_and_host_streams_never_break_credit_or_throw(FuzzedDataProvider data) {
        oneCase(new FuzzRandom(data));
    }

    static void oneCase(Random random) {
        VsockDriver guest = new VsockDriver(null, 4_000_000); // guarded memory: nothing touched outside it
        List<PipeStream> hostStreams = new ArrayList<>();
        long[] ports = {5000, 5001, 1234, VirtioVsock.FIRST_HOST_PORT, 0, 0xffff_ffffL};
        // Per (guest port, host port) of the current connection: RW bytes received, and the fwd_cnt the guest last
        // sent (what it has "read"). The guest's buf_alloc is fixed for the case.
        Map<Long, long[]> credit = new HashMap<>();
        // Half the cases with a buffer smaller than what the host writes in a few steps, where the credit binds.
        guest.bufAlloc = 1 + random.nextInt(random.nextBoolean() ? 8192 : 300_000);
        boolean hostile = false;
        for (int step = 20 + random.nextInt(120); step > 0; step--) {
            try {
                switch (random.nextInt(hostile ? 7 : 8)) {
                    case 0 -> {
                        PipeStream listener = new PipeStream();
                        listener.writeLimit = random.nextBoolean() ? Integer.MAX_VALUE : random.nextInt(100);
                        guest.listeners.put(ports[random.nextInt(ports.length)], listener);
                        hostStreams.add(listener);
                    }
                    case 1 -> {
                        if (guest.rx.freeDescriptors() >= 2) {
                            guest.postRx(1 + random.nextInt(Math.min(8, guest.rx.freeDescriptors() / 2)));
                        }
                    }
                    case 2 -> {
                        if (guest.rx.freeDescriptors() > 0) { // a buffer too small for a header, or just one
                            guest.rx.add(DriverQueue.writable(VsockDriver.RX_BUFFERS, random.nextInt(60)));
                            guest.device.queueNotify(VirtioVsock.RX_QUEUE);
                        }
                    }
                    case 3 -> sendRandom(random, guest, ports, credit);
                    case 4 -> {
                        if (!hostStreams.isEmpty()) {
                            PipeStream stream = hostStreams.get(random.nextInt(hostStreams.size()));
                            byte[] bytes = new byte[random.nextInt(20_000)];
                            random.nextBytes(bytes);
                            stream.hostWrites(bytes, random.nextInt(8) == 0);
                            stream.failWrites = random.nextInt(20) == 0;
                            guest.device.hostReady(stream);
                        }
                    }
                    case 5 -> {
                        PipeStream stream = new PipeStream();
                        hostStreams.add(stream);
                        guest.device.hostConnect(stream, ports[random.nextInt(ports.length)]);
                    }
                    case 6 -> {
                        for (VsockDriver.Packet packet : guest.received()) {
                            long key = VsockConnection.key(packet.header().dstPort(), packet.header().srcPort());
                            if (packet.op() == VsockHeader.OP_RESPONSE || packet.op() == VsockHeader.OP_REQUEST) {
                                credit.put(key, new long[2]); // a new connection: both counters start at 0
                            } else if (packet.op() == VsockHeader.OP_RW) {
                                long[] c = credit.computeIfAbsent(key, k -> new long[2]);
                                c[0] += packet.data().length;
                                assertTrue(c[0] - c[1] <= guest.bufAlloc, "RW beyond the guest's credit: sent "
                                        + c[0] + ", guest forwarded " + c[1] + ", buf_alloc " + guest.bufAlloc);
                            }
                        }
                    }
                    default -> {
                        hostile = true;
                        var layout = random.nextBoolean() ? guest.rx.layout() : guest.tx.layout();
                        HostileDriver.scribble(((FuzzRandom) random).data(), guest.memory, layout, guest.memory.size());
                        guest.memory.writeU16(layout.availableRing() + 2, random.nextInt(65536));
                        guest.device.queueNotify(layout == guest.rx.layout() ? VirtioVsock.RX_QUEUE
                                : VirtioVsock.TX_QUEUE);
                    }
                }
            } catch (VirtioException | GuestMemoryException e) {
                assertTrue(hostile, "a well-formed queue was refused: " + e.getMessage());
                break; // the transport would now set DEVICE_NEEDS_RESET
            }
            assertTrue(guest.device.connectionCount() <= VirtioVsock.MAX_CONNECTIONS);
        }
        guest.memory.assertGuardsIntact();
    }

    /** One packet from the guest: mostly plausible, often with one field wrong. */
    private static void sendRandom(Random random, VsockDriver guest, long[] ports, Map<Long, long[]> credit) {
        if (guest.tx.freeDescriptors() < 2) {
            return;
        }
        long guestPort = ports[random.nextInt(ports.length)];
        long hostPort = ports[random.nextInt(ports.length)];
        int op = random.nextInt(10) == 0 ? random.nextInt(65536) : random.nextInt(8);
        int length = op == VsockHeader.OP_RW ? random.nextInt(5000) : random.nextInt(20) == 0 ? 7 : 0;
        long len = random.nextInt(20) == 0
                ? HostileDriver.pick(((FuzzRandom) random).data(), 0xffff_ffffL, 65537, length + 1) : length;
        long[] c = credit.computeIfAbsent(VsockConnection.key(guestPort, hostPort), k -> new long[2]);
        if (random.nextBoolean()) {
            c[1] = c[0]; // the guest's application read everything that arrived
        }
        guest.fwdCnt = c[1];
        VsockHeader header = new VsockHeader(random.nextInt(20) == 0 ? random.nextInt(5) : VsockDriver.GUEST_CID,
                random.nextInt(20) == 0 ? random.nextInt(5) : VsockHeader.HOST_CID, guestPort, hostPort, len,
                random.nextInt(20) == 0 ? random.nextInt(4) : VsockHeader.TYPE_STREAM, op,
                random.nextInt(4), guest.bufAlloc, guest.fwdCnt);
        byte[] data = new byte[length];
        random.nextBytes(data);
        if (random.nextInt(15) == 0) { // a chain shorter than a header
            guest.tx.add(DriverQueue.readable(VsockDriver.TX_BUFFERS, random.nextInt(VsockHeader.SIZE)));
            guest.device.queueNotify(VirtioVsock.TX_QUEUE);
            while (guest.tx.pollUsed() != null) {
                // returned unread
            }
            return;
        }
        guest.send(header, data);
    }
}
