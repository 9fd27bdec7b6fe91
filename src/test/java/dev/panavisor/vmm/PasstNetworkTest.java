package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.Requires;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link PasstNetwork} against a real passt, without a VM: frames go in as a guest would send them and passt's
 * answers come back through the receive thread. passt answers ARP for the gateway itself, so one request checks the
 * framing both ways; no packet leaves passt.
 */
class PasstNetworkTest {
    static final byte[] GUEST_MAC = {0x02, 0x70, 0x76, 0x00, 0x00, 0x01};

    /** Frames received, for a receiver that always has a buffer. */
    static final class ListReceiver implements PasstNetwork.Receiver {
        final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
        int bursts;

        @Override
        public boolean canReceive() {
            return true;
        }

        @Override
        public boolean receive(byte[] frame, int length) {
            frames.add(java.util.Arrays.copyOf(frame, length));
            return true;
        }

        @Override
        public synchronized void endBurst() {
            bursts++;
        }

        synchronized int bursts() {
            return bursts;
        }
    }

    /** An Ethernet broadcast ARP request (RFC 826): who has {@code target}, tell the guest. */
    static byte[] arpRequest(int[] target) {
        ByteBuffer b = ByteBuffer.allocate(42);
        b.put(new byte[] {-1, -1, -1, -1, -1, -1}).put(GUEST_MAC).putShort((short) 0x0806);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1);
        b.put(GUEST_MAC).put(new byte[] {10, 0, 2, 15});
        b.put(new byte[6]);
        for (int octet : target) {
            b.put((byte) octet);
        }
        return b.array();
    }

    @Test
    void passt_answers_an_arp_request_for_the_gateway_through_the_stream_framing() throws Exception {
        Requires.passt();
        List<String> warnings = Collections.synchronizedList(new ArrayList<>());
        try (PasstNetwork network = PasstNetwork.start("passt", new MachineConfig.UserNetwork(List.of()),
                warnings::add)) {
            ListReceiver receiver = new ListReceiver();
            network.startReceiving(receiver, e -> warnings.add("failed: " + e));
            byte[] request = arpRequest(new int[] {10, 0, 2, 2});
            network.transmit(request, 0, request.length);
            byte[] reply = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (reply == null && System.nanoTime() < deadline) {
                byte[] frame = receiver.frames.poll(200, TimeUnit.MILLISECONDS);
                // An ARP reply (opcode 2) from 10.0.2.2 to the guest's MAC; passt may send other frames first.
                if (frame != null && frame.length >= 42 && frame[12] == 0x08 && frame[13] == 0x06 && frame[21] == 2
                        && frame[28] == 10 && frame[29] == 0 && frame[30] == 2 && frame[31] == 2) {
                    reply = frame;
                }
            }
            assertNotNull(reply, "no ARP reply for the gateway from passt; warnings: " + warnings);
            assertEquals(ByteBuffer.wrap(GUEST_MAC), ByteBuffer.wrap(reply, 0, 6), "sent to the guest's MAC");
            long notified = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (receiver.bursts() == 0 && System.nanoTime() < notified) {
                Thread.sleep(10); // the receive thread notifies right after it delivers
            }
            assertTrue(receiver.bursts() >= 1, "the driver was notified");
            assertEquals(List.of(), warnings);
        }
    }

    /** Every receive-queue notification wakes the receive thread; they never pile up (no spin, no overflow). */
    @Test
    void wake_ups_do_not_pile_up() throws Exception {
        Requires.passt();
        try (PasstNetwork network = PasstNetwork.start("passt", new MachineConfig.UserNetwork(List.of()), w -> { })) {
            for (int i = 0; i < 100_000; i++) {
                network.wake();
            }
            assertEquals(1, network.wakePermits());
        }
    }

    @Test
    void when_passt_dies_one_line_says_so_and_frames_from_the_guest_are_refused_not_fatal() throws Exception {
        Requires.passt();
        List<String> warnings = Collections.synchronizedList(new ArrayList<>());
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        try (PasstNetwork network = PasstNetwork.start("passt", new MachineConfig.UserNetwork(List.of()),
                warnings::add)) {
            network.startReceiving(new ListReceiver(), failures::add);
            network.process().destroyForcibly();
            network.process().onExit().get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (warnings.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(1, warnings.size(), warnings.toString());
            // Killed, passt's socket ends in an end of file or a reset, whichever the kernel reports first.
            assertTrue(warnings.getFirst().startsWith("--net user: passt closed its socket")
                    || warnings.getFirst().startsWith("--net user: passt failed: Connection reset"),
                    warnings.getFirst());
            assertTrue(warnings.getFirst().endsWith("the guest's network is down, the VM goes on"));
            byte[] request = arpRequest(new int[] {10, 0, 2, 2});
            // The first write may still land in the socket's buffer; by the second the peer is known to be gone.
            assertThrows(IOException.class, () -> {
                for (int i = 0; i < 4; i++) {
                    network.transmit(request, 0, request.length);
                    Thread.sleep(50);
                }
            });
            assertEquals(List.of(), failures, "the VM does not end over it");
        }
    }

    /**
     * A passt that stops reading (stopped with SIGSTOP here; hung, in life): the device's worker blocks in
     * transmit once the socket's buffer is full. stopSending, which the VM's end calls before it joins the vCPUs and
     * the worker, makes that transmit fail at once. Before, the worker's join, and so the VM's end, waited forever.
     */
    @Test
    void a_transmit_blocked_on_a_passt_that_stopped_reading_ends_at_stop_sending() throws Exception {
        Requires.passt();
        try (PasstNetwork network = PasstNetwork.start("passt", new MachineConfig.UserNetwork(List.of()),
                line -> { })) {
            network.startReceiving(new ListReceiver(), e -> { });
            String pid = Long.toString(network.process().pid());
            assertEquals(0, new ProcessBuilder("kill", "-STOP", pid).start().waitFor());
            try {
                byte[] frame = new byte[1514];
                java.util.concurrent.CompletableFuture<Throwable> sender =
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                            try {
                                while (true) {
                                    network.transmit(frame, 0, frame.length);
                                }
                            } catch (IOException e) {
                                return e;
                            }
                        });
                Thread.sleep(2_000);
                assertTrue(!sender.isDone(), "the sender is blocked on the full socket");
                network.stopSending();
                // The limit only turns the old hang into a failure; it checks no speed.
                assertTrue(sender.get(60, TimeUnit.SECONDS) instanceof IOException);
            } finally {
                new ProcessBuilder("kill", "-CONT", pid).start().waitFor();
            }
        }
    }

    /**
     * At the VM's end stopSending shuts the socket's sending side; passt, a one-off server, sees the end of its input
     * and ends, closing the socket. That end is the VM's own doing: no "passt closed its socket" line.
     */
    @Test
    void passts_end_after_stop_sending_is_not_reported() throws Exception {
        Requires.passt();
        List<String> warnings = Collections.synchronizedList(new ArrayList<>());
        try (PasstNetwork network = PasstNetwork.start("passt", new MachineConfig.UserNetwork(List.of()),
                warnings::add)) {
            network.startReceiving(new ListReceiver(), e -> { });
            network.stopSending();
            network.process().onExit().get(10, TimeUnit.SECONDS);
            Thread receiver = network.receiveThread();
            receiver.join(10_000); // it ends at the end of file, where a line would be written
            assertTrue(!receiver.isAlive(), "the receive thread saw passt's end");
            assertEquals(List.of(), warnings);
        }
    }

    /**
     * A passt that fails to start: its words are in the line (in the lab the line said "it said nothing"), even
     * when they come after its exit is seen (here a child of the fake passt writes them, in one write, 0.3 s after it
     * exited with status 1), without its note on dropping root, and with the hint a missing default route calls for.
     */
    @Test
    void a_passt_that_cannot_start_is_one_line_with_its_own_words_even_when_they_come_late() throws Exception {
        Path fake = java.nio.file.Files.createTempFile("fake-passt", ".sh");
        try {
            java.nio.file.Files.writeString(fake, "#!/bin/sh\necho \"Don't run as root. Changing to nobody...\"\n"
                    + "(sleep 0.3; printf 'No external routable interface for IPv4\\nExternal interface not usable\\n')"
                    + " &\nexit 1\n");
            fake.toFile().setExecutable(true);
            VmmException e = assertThrows(VmmException.class, () -> PasstNetwork.start(fake.toString(),
                    new MachineConfig.UserNetwork(List.of()), line -> { }));
            assertEquals("--net user: passt could not start (status 1): No external routable interface for IPv4; "
                    + "External interface not usable (passt needs a host interface with a default route: "
                    + "docs/network.md)", e.getMessage());
        } finally {
            java.nio.file.Files.delete(fake);
        }
    }

    @Test
    void a_missing_passt_is_one_line_that_names_the_package() {
        VmmException e = assertThrows(VmmException.class, () -> PasstNetwork.start("/nonexistent/passt",
                new MachineConfig.UserNetwork(List.of()), line -> { }));
        assertTrue(e.getMessage().startsWith("--net user needs passt"), e.getMessage());
        assertTrue(e.getMessage().contains("apt-get install passt"), e.getMessage());
    }

    @Test
    void the_command_line_fixes_the_addresses_and_forwards_each_published_port() {
        List<String> command = PasstNetwork.command("passt", Path.of("/d/s"), new MachineConfig.UserNetwork(
                List.of(new MachineConfig.PortForward(8080, 80), new MachineConfig.PortForward(2222, 22))));
        String line = String.join(" ", command);
        assertTrue(line.contains("--one-off --ipv4-only --socket /d/s --address 10.0.2.15 --netmask 24 "
                + "--gateway 10.0.2.2 --mtu 1500 --pid /d/passt.pid"), line);
        assertTrue(line.endsWith("--tcp-ports 8080:80 --tcp-ports 2222:22"), line);
        assertEquals("ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off", PasstNetwork.KERNEL_IP_PARAMETER);
    }
}
