package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.vsock.VsockDriver;
import dev.panavisor.devices.virtio.vsock.VsockHeader;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vsock device's host side on real UNIX sockets, with the device on heap memory and a Java driver as the guest:
 * both directions of connection set-up, bytes both ways, and the bad inputs (a missing directory, a port with no
 * socket, a bad CONNECT line).
 */
class VsockSocketsTest {
    @TempDir
    Path dir;

    @Test
    void a_missing_directory_or_an_impossible_path_is_one_clear_error() throws Exception {
        VmmException missing = assertThrows(VmmException.class,
                () -> VsockSockets.open(dir.resolve("no-such-dir/vm.sock")));
        assertEquals("--vsock: the directory of " + dir.resolve("no-such-dir/vm.sock") + " does not exist",
                missing.getMessage());
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertThrows(VmmException.class, () -> VsockSockets.open(file.resolve("vm.sock")));
        VmmException notSocket = assertThrows(VmmException.class, () -> VsockSockets.open(file));
        assertTrue(notSocket.getMessage().endsWith("exists and is not a socket"), notSocket.getMessage());
        // A FIFO is no socket either: it is refused, never deleted to make room.
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        VmmException notSocketFifo = assertThrows(VmmException.class, () -> VsockSockets.open(fifo));
        assertTrue(notSocketFifo.getMessage().endsWith("exists and is not a socket"), notSocketFifo.getMessage());
        assertTrue(Files.exists(fifo, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        VmmException tooLong = assertThrows(VmmException.class,
                () -> VsockSockets.open(dir.resolve("x".repeat(120))));
        assertEquals("--vsock: the socket path " + dir.resolve("x".repeat(120)) + " is "
                + dir.resolve("x".repeat(120)).toString().length() + " bytes long; a UNIX socket path holds at most 107",
                tooLong.getMessage());
    }

    @Test
    void the_connect_line_is_parsed_strictly() {
        assertEquals(52, VsockSockets.parseConnect("CONNECT 52"));
        assertEquals(52, VsockSockets.parseConnect("CONNECT 52\r"));
        assertEquals(4294967295L, VsockSockets.parseConnect("CONNECT 4294967295"));
        for (String bad : List.of("", "CONNECT", "CONNECT ", "CONNECT -1", "CONNECT 4294967296", "connect 5",
                "CONNECT 5 6", "CONNECT 99999999999", "LISTEN 5")) {
            assertEquals(-1, VsockSockets.parseConnect(bad), bad);
        }
    }

    @Test
    void guest_to_host_and_host_to_guest_over_unix_sockets() throws Exception {
        Path path = dir.resolve("vm.sock");
        try (VsockSockets sockets = VsockSockets.open(path);
                ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(path + "_1234"));
            Object lock = new Object();
            VsockDriver guest = new VsockDriver(sockets);
            sockets.attach(guest.device, lock);
            sockets.start();
            List<VsockDriver.Packet> packets = new ArrayList<>();
            synchronized (lock) {
                guest.postRx(32);
                guest.send(5000, 1234, VsockHeader.OP_REQUEST); // guest -> host port 1234: PATH_1234
                packets.addAll(guest.received());
            }
            assertEquals(VsockHeader.OP_RESPONSE, packets.getFirst().op());
            try (SocketChannel host = listener.accept()) {
                synchronized (lock) {
                    guest.sendData(5000, 1234, "ping".getBytes(StandardCharsets.US_ASCII));
                }
                assertEquals("ping", readText(host, 4));
                host.write(ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)));
                assertEquals("pong", new String(awaitData(guest, lock, 4), StandardCharsets.US_ASCII));
            }

            // Host -> guest: CONNECT 52 on PATH; the guest accepts; the host gets OK and its port.
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                client.write(ByteBuffer.wrap("CONNECT 52\n".getBytes(StandardCharsets.US_ASCII)));
                VsockHeader request = await(guest, lock, p -> p.op() == VsockHeader.OP_REQUEST).header();
                assertEquals(52, request.dstPort());
                synchronized (lock) {
                    guest.send(52, request.srcPort(), VsockHeader.OP_RESPONSE);
                    guest.sendData(52, request.srcPort(), "hi".getBytes(StandardCharsets.US_ASCII));
                }
                String expected = "OK " + request.srcPort() + "\nhi";
                assertEquals(expected, readText(client, expected.length()));
            }
        }
        assertTrue(Files.notExists(path), "the socket file is removed at close");
    }

    @Test
    void a_port_without_a_socket_is_reset_and_a_bad_connect_line_is_closed() throws Exception {
        Path path = dir.resolve("vm.sock");
        try (VsockSockets sockets = VsockSockets.open(path)) {
            Object lock = new Object();
            VsockDriver guest = new VsockDriver(sockets);
            sockets.attach(guest.device, lock);
            sockets.start();
            List<VsockDriver.Packet> packets;
            synchronized (lock) {
                guest.postRx(8);
                guest.send(5000, 4321, VsockHeader.OP_REQUEST);
                packets = guest.received();
            }
            assertEquals(VsockHeader.OP_RST, packets.getFirst().op());
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                client.write(ByteBuffer.wrap("HELLO\n".getBytes(StandardCharsets.US_ASCII)));
                assertEquals(-1, client.read(ByteBuffer.allocate(16)), "closed without an answer");
            }
        }
    }

    /**
     * A host program that does not accept while its backlog is full: the connect, made under the device's lock,
     * fails at once instead of waiting for it (a blocking connect would wait until the program accepts).
     */
    @Test
    void a_host_socket_with_a_full_backlog_refuses_at_once() throws Exception {
        Path path = dir.resolve("vm.sock");
        try (VsockSockets sockets = VsockSockets.open(path);
                ServerSocketChannel busy = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            busy.bind(UnixDomainSocketAddress.of(path + "_7000"), 1);
            List<SocketChannel> waiting = new ArrayList<>();
            try {
                // Linux refuses once more connections wait than the backlog: fill it without blocking.
                while (true) {
                    SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX);
                    waiting.add(client);
                    client.configureBlocking(false);
                    try {
                        client.connect(UnixDomainSocketAddress.of(path + "_7000"));
                    } catch (IOException full) {
                        break;
                    }
                }
                java.util.concurrent.CompletableFuture<Throwable> outcome =
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                            try {
                                sockets.connect(7000).close();
                                return null;
                            } catch (IOException e) {
                                return e;
                            }
                        });
                // The limit only turns the old hang into a failure; it checks no speed.
                Throwable refused = outcome.get(60, java.util.concurrent.TimeUnit.SECONDS);
                assertTrue(refused instanceof IOException, "connected to a full backlog: " + refused);
            } finally {
                for (SocketChannel client : waiting) {
                    client.close();
                }
            }
        }
    }

    /**
     * The handshake's deadline (a short one here): a program that never ends its CONNECT line is closed, and so is
     * one whose guest never accepts, whose REQUEST the guest then sees reset.
     */
    @Test
    void a_handshake_past_its_deadline_is_closed() throws Exception {
        Path path = dir.resolve("vm.sock");
        try (VsockSockets sockets = VsockSockets.open(path, 300_000_000L)) {
            Object lock = new Object();
            VsockDriver guest = new VsockDriver(sockets);
            sockets.attach(guest.device, lock);
            sockets.start();
            synchronized (lock) {
                guest.postRx(8);
            }
            try (SocketChannel unfinished = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                unfinished.write(ByteBuffer.wrap("CONNECT 52".getBytes(StandardCharsets.US_ASCII)));
                assertEquals(-1, readWithin(unfinished), "closed without an answer");
            }
            try (SocketChannel unanswered = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                unanswered.write(ByteBuffer.wrap("CONNECT 52\n".getBytes(StandardCharsets.US_ASCII)));
                VsockHeader request = await(guest, lock, p -> p.op() == VsockHeader.OP_REQUEST).header();
                assertEquals(-1, readWithin(unanswered), "closed without an OK");
                VsockHeader reset = await(guest, lock, p -> p.op() == VsockHeader.OP_RST).header();
                assertEquals(request.srcPort(), reset.srcPort());
            }
            synchronized (lock) {
                assertEquals(0, guest.device.connectionCount());
            }
        }
    }

    /** More programs than {@link VsockSockets#MAX_PENDING_LINES} that connect and send nothing: the rest are closed. */
    @Test
    void connections_that_send_no_line_are_bounded() throws Exception {
        Path path = dir.resolve("vm.sock");
        List<SocketChannel> silent = new ArrayList<>();
        try (VsockSockets sockets = VsockSockets.open(path, java.util.concurrent.TimeUnit.MINUTES.toNanos(10))) {
            VsockDriver guest = new VsockDriver(sockets);
            sockets.attach(guest.device, new Object());
            sockets.start();
            for (int i = 0; i < VsockSockets.MAX_PENDING_LINES; i++) {
                silent.add(SocketChannel.open(UnixDomainSocketAddress.of(path)));
            }
            try (SocketChannel extra = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                assertEquals(-1, readWithin(extra), "one too many: closed at once");
            }
            silent.getFirst().configureBlocking(false);
            assertEquals(0, silent.getFirst().read(ByteBuffer.allocate(1)), "the first ones still wait for a line");
        } finally {
            for (SocketChannel channel : silent) {
                channel.close();
            }
        }
    }

    /**
     * An accept that fails while the connection stays in the backlog (EMFILE: no descriptor left) pauses accepting
     * for {@link VsockSockets#ACCEPT_PAUSE_NANOS} instead of spinning on the listener the selector reports again at
     * once; once accepts work again, the waiting connection is served.
     */
    @Test
    void a_failing_accept_pauses_instead_of_spinning_and_the_connection_is_served_after() throws Exception {
        Path path = dir.resolve("vm.sock");
        try (VsockSockets sockets = VsockSockets.open(path)) {
            java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
            sockets.acceptor = listener -> {
                failed.incrementAndGet();
                throw new IOException("Too many open files");
            };
            VsockDriver guest = new VsockDriver(sockets);
            sockets.attach(guest.device, new Object());
            sockets.start();
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                waitUntil(() -> failed.get() > 0);
                Thread.sleep(1_000);
                int calls = failed.get();
                // At most one try per pause and a few for a slow scheduler: a spinning thread makes thousands.
                long pauses = 1_000_000_000L / VsockSockets.ACCEPT_PAUSE_NANOS;
                assertTrue(calls <= 2 * pauses + 2, calls + " accepts in a second");
                sockets.acceptor = java.nio.channels.ServerSocketChannel::accept;
                client.write(ByteBuffer.wrap("HELLO\n".getBytes(StandardCharsets.US_ASCII)));
                assertEquals(-1, readWithin(client), "accepted, its bad line read, and closed");
            }
        }
    }

    /** One read, in a thread of its own so that a socket nobody closes fails the test instead of hanging it. */
    private static int readWithin(SocketChannel channel) throws Exception {
        try {
            return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return channel.read(ByteBuffer.allocate(16));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(60, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            channel.shutdownInput();
        }
    }

    private static String readText(SocketChannel channel, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
            // blocking reads until the expected bytes are in
        }
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII);
    }

    /** Collects RW data for the guest until {@code length} bytes came (the poller delivers them asynchronously). */
    private static byte[] awaitData(VsockDriver guest, Object lock, int length) throws InterruptedException {
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        waitUntil(() -> {
            synchronized (lock) {
                guest.received().stream().filter(p -> p.op() == VsockHeader.OP_RW)
                        .forEach(p -> data.writeBytes(p.data()));
            }
            return data.size() >= length;
        });
        return data.toByteArray();
    }

    private static VsockDriver.Packet await(VsockDriver guest, Object lock,
            java.util.function.Predicate<VsockDriver.Packet> wanted) throws InterruptedException {
        List<VsockDriver.Packet> seen = new ArrayList<>();
        waitUntil(() -> {
            synchronized (lock) {
                seen.addAll(guest.received());
            }
            return seen.stream().anyMatch(wanted);
        });
        return seen.stream().filter(wanted).findFirst().orElseThrow();
    }

    /** Waits for an asynchronous event; the limit only turns a bug's hang into a failure, it checks no speed. */
    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the event did not happen within a minute");
            }
            Thread.sleep(5);
        }
    }
}
