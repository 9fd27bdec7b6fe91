package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.net.MacAddress;
import dev.panavisor.devices.virtio.net.NetBackend;
import dev.panavisor.devices.virtio.net.VirtioNet;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.MappedGuestMemory;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Runs a network card's frame paths a few times on scratch memory once the guest has booted ({@link PathWarmUp}), so
 * that the JIT has compiled them before the guest's first large transfer, as {@link BlockPathWarmUp} does for a disk.
 *
 * <p>Why: in the nested lab the JVM's one compiler thread compiled the receive and transmit paths while the guest's
 * first 16 MiB download went on: C1 used 26-178 ms of CPU during that transfer in five rounds of
 * {@code tools/bench/net-cpu.sh}, on the two CPUs the guest and the receive thread share (docs/network.md, "Who uses
 * the CPU during a transfer").
 *
 * <p>What: {@link #play} builds a {@link VirtioNet} of its own on a scratch {@link MappedGuestMemory}, with a backend
 * that carries offloads (as a TAP does) and drops what it is sent, and plays Linux's driver ({@link DriverQueue}):
 * mergeable receive buffers of 1,536 bytes, into which it delivers a 64 KiB TCP segment (partial checksum, GSO
 * TCPv4) and a small frame, and a transmitted 64 KiB segment in its headers and page-sized pieces, and a small
 * frame. The same device methods serve the guest's frames: the buffer count and fill, the header's checks, the
 * transmit batch, the used rings. The TAP's own system calls are not played: they are compiled by the guest's first
 * frames, as they come. Nothing leaves the process.
 *
 * <p>{@value #ROUNDS_PROPERTY} sets the number of rounds; 0 leaves the thread out (for measurements). Not under
 * {@code run --jfr}.
 */
final class NetPathWarmUp {
    static final String ROUNDS_PROPERTY = "panavisor.net.warmup";
    /** Enough for every method of the paths to pass its compile threshold (about 10 calls, jvm.options). */
    static final int ROUNDS = 24;
    private static final int PAGE = 4096;
    /** Linux's mergeable buffer for an MTU of 1500: a frame and its header fit one (add_recvbuf_mergeable). */
    private static final int RECEIVE_BUFFER = 1536;
    /** The largest TCP segment the offloads carry: the 12-byte header and a frame of an IPv4 packet of 65,535 bytes. */
    private static final int LARGE = VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME;
    /** The header and the Ethernet, IPv4 and TCP headers: the first descriptor of a transmitted segment. */
    private static final int HEADERS = VirtioNet.HEADER_SIZE + 54;
    private static final int SMALL = VirtioNet.HEADER_SIZE + 66;
    private static final long RECEIVE_RING = 0;
    private static final long TRANSMIT_RING = 0x2000;
    private static final long TRANSMIT_DATA = 0x4000;
    private static final long RECEIVE_DATA = 0x20000;
    /** Buffers the two frames take together: 43 for the large one, 1 for the small one. */
    private static final int RECEIVE_BUFFERS = (LARGE + RECEIVE_BUFFER - 1) / RECEIVE_BUFFER + 1;
    /** Rings, the transmitted segment and the receive buffers, in whole pages. */
    private static final long MEMORY =
            (RECEIVE_DATA + (long) RECEIVE_BUFFERS * RECEIVE_BUFFER + PAGE - 1) / PAGE * PAGE;

    private NetPathWarmUp() {
    }

    /** A warm-up for a network card, or null when {@value #ROUNDS_PROPERTY} is 0 or a flight recording is on. */
    static PathWarmUp forNetwork(String name) {
        int rounds = Integer.getInteger(ROUNDS_PROPERTY, ROUNDS);
        return PathWarmUp.wanted(rounds, jdk.jfr.FlightRecorder.isInitialized())
                ? new PathWarmUp(name, stop -> play(rounds, stop)) : null;
    }

    /**
     * Plays {@code rounds} rounds (two frames received, two sent) through a scratch device, stopping early when
     * {@code stop} says so; returns how many rounds delivered and sent all four frames.
     */
    static int play(int rounds, BooleanSupplier stop) {
        int[] sent = new int[1];
        NetBackend discard = new NetBackend() {
            @Override
            public void transmit(byte[] frame, int offset, int length) {
                sent[0]++;
            }

            @Override
            public String name() {
                return "warm-up";
            }

            @Override
            public long offloads() {
                return VirtioNet.OFFLOADS;
            }
        };
        VirtioNet device = new VirtioNet(discard, MacAddress.DEFAULT, () -> { });
        byte[] large = frame(LARGE, 1, 1); // NEEDS_CSUM, GSO_TCPV4
        byte[] small = frame(SMALL, 2, 0); // DATA_VALID, GSO_NONE
        int complete = 0;
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(MEMORY)) {
            QueueLayout receiveLayout = QueueLayout.contiguous(RECEIVE_RING, VirtioNet.QUEUE_SIZE);
            QueueLayout transmitLayout = QueueLayout.contiguous(TRANSMIT_RING, VirtioNet.QUEUE_SIZE);
            DriverQueue receive = new DriverQueue(memory, receiveLayout);
            DriverQueue transmit = new DriverQueue(memory, transmitLayout);
            long features = device.offeredFeatures() & (VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX
                    | VirtioNet.F_MRG_RXBUF | VirtioNet.OFFLOADS);
            device.activate(features, List.of(
                    new SplitVirtqueue(memory, receiveLayout, VirtioNet.QUEUE_SIZE, true, true),
                    new SplitVirtqueue(memory, transmitLayout, VirtioNet.QUEUE_SIZE, true, true)), memory,
                    PathWarmUp.NO_INTERRUPT);
            for (int round = 0; round < rounds && !stop.getAsBoolean(); round++) {
                for (int i = 0; i < RECEIVE_BUFFERS; i++) {
                    receive.add(DriverQueue.writable(RECEIVE_DATA + (long) i * RECEIVE_BUFFER, RECEIVE_BUFFER));
                }
                device.queueNotify(VirtioNet.RECEIVE_QUEUE);
                long before = device.framesReceived();
                if (device.canReceive()) {
                    device.receiveInBurst(large, large.length);
                    device.receiveInBurst(small, small.length);
                }
                device.endBurst();
                while (receive.pollUsed() != null) {
                    // the driver takes its buffers back: the two frames took them all
                }
                int sentBefore = sent[0];
                transmit.add(transmitChain());
                transmit.add(DriverQueue.readable(TRANSMIT_DATA, SMALL));
                device.queueNotify(VirtioNet.TRANSMIT_QUEUE);
                while (transmit.pollUsed() != null) {
                    // back to the driver
                }
                if (device.framesReceived() - before == 2 && sent[0] - sentBefore == 2) {
                    complete++;
                }
            }
        } finally {
            device.reset();
        }
        return complete;
    }

    /** A large segment as Linux hands it over: the headers in one descriptor, then the data's pages. */
    private static DriverQueue.Segment[] transmitChain() {
        int data = LARGE - HEADERS;
        DriverQueue.Segment[] chain = new DriverQueue.Segment[1 + (data + PAGE - 1) / PAGE];
        chain[0] = DriverQueue.readable(TRANSMIT_DATA, HEADERS);
        for (int i = 1; i < chain.length; i++) {
            chain[i] = DriverQueue.readable(TRANSMIT_DATA + (long) i * PAGE, Math.min(PAGE, data - (i - 1) * PAGE));
        }
        return chain;
    }

    /** A frame behind a virtio-net header with {@code flags} and {@code gsoType} (§5.1.6). */
    private static byte[] frame(int length, int flags, int gsoType) {
        byte[] frame = new byte[length];
        frame[0] = (byte) flags;
        frame[1] = (byte) gsoType;
        return frame;
    }
}
