package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.vsock.VsockDriver;
import dev.panavisor.devices.virtio.vsock.VsockHeader;
import dev.panavisor.sys.Seccomp;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * For {@link VsockConfinementTest}, in a child JVM: sets up the vsock host side as {@code run --vsock} does (the
 * listening socket on PATH, its selector thread) and a host program's listener on PATH_1234, installs the VMM's
 * seccomp filter ({@code filter}) or not ({@code none}), then has a guest (the Java driver) connect to the host and
 * a host program connect to the guest, each exchanging bytes, and tries an Internet socket.
 * Output lines: {@code seccomp-mode N}, {@code guest-to-host ok|failed: why}, {@code host-to-guest ok|failed: why},
 * {@code inet-socket allowed|refused: why}. Arguments: {@code filter|none DIR}.
 */
public final class VsockConfinedMain {
    private VsockConfinedMain() {
    }

    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[1], "vm.sock");
        try (VsockSockets sockets = VsockSockets.open(path);
                ServerSocketChannel hostProgram = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            hostProgram.bind(UnixDomainSocketAddress.of(path + "_1234"));
            Object lock = new Object();
            VsockDriver guest = new VsockDriver(sockets);
            sockets.attach(guest.device, lock);
            synchronized (lock) {
                guest.device.reset(); // the driver is not up yet: host connections are closed at once
            }
            sockets.start();
            if (args[0].equals("filter")) {
                Seccomp.install(Confinement.filter((int) ProcessHandle.current().pid(), true));
            }
            System.out.println("seccomp-mode " + Seccomp.mode());
            System.out.println("refused-while-down " + attempt(() -> refusedWhileDown(path)));
            synchronized (lock) {
                guest.activate();
            }
            System.out.println("guest-to-host " + attempt(() -> guestToHost(guest, lock, hostProgram)));
            System.out.println("host-to-guest " + attempt(() -> hostToGuest(guest, lock, path)));
            System.out.println("inet-socket " + attempt(() -> SocketChannel.open(StandardProtocolFamily.INET).close()));
        }
        System.out.println("closed");
    }

    private interface Action {
        void run() throws Exception;
    }

    private static String attempt(Action action) {
        try {
            action.run();
            return "ok";
        } catch (Exception | AssertionError e) {
            return "failed: " + e.getMessage();
        }
    }

    private static void guestToHost(VsockDriver guest, Object lock, ServerSocketChannel hostProgram) throws Exception {
        synchronized (lock) {
            guest.postRx(32);
            guest.send(5000, 1234, VsockHeader.OP_REQUEST);
            List<VsockDriver.Packet> answer = guest.received();
            if (answer.isEmpty() || answer.getFirst().op() != VsockHeader.OP_RESPONSE) {
                throw new AssertionError("no RESPONSE: " + answer);
            }
        }
        try (SocketChannel host = hostProgram.accept()) {
            synchronized (lock) {
                guest.sendData(5000, 1234, "ping".getBytes(StandardCharsets.US_ASCII));
            }
            ByteBuffer got = ByteBuffer.allocate(4);
            while (got.hasRemaining() && host.read(got) >= 0) {
                // blocking
            }
            host.write(ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)));
            String back = new String(collect(guest, lock, VsockHeader.OP_RW, 4), StandardCharsets.US_ASCII);
            if (!new String(got.array(), StandardCharsets.US_ASCII).equals("ping") || !back.equals("pong")) {
                throw new AssertionError("exchanged " + new String(got.array(), StandardCharsets.US_ASCII) + "/" + back);
            }
        }
    }

    /** Before the driver is up the VMM closes a host connection at once: the host program sees end of file. */
    private static void refusedWhileDown(Path path) throws Exception {
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            client.write(ByteBuffer.wrap("CONNECT 52\n".getBytes(StandardCharsets.US_ASCII)));
            if (client.read(ByteBuffer.allocate(16)) != -1) {
                throw new AssertionError("an answer instead of end of file");
            }
        }
    }

    private static void hostToGuest(VsockDriver guest, Object lock, Path path) throws Exception {
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            client.write(ByteBuffer.wrap("CONNECT 52\n".getBytes(StandardCharsets.US_ASCII)));
            List<VsockDriver.Packet> seen = new ArrayList<>();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (seen.stream().noneMatch(p -> p.op() == VsockHeader.OP_REQUEST)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no REQUEST reached the guest");
                }
                Thread.sleep(5);
                synchronized (lock) {
                    seen.addAll(guest.received());
                }
            }
            long hostPort = seen.stream().filter(p -> p.op() == VsockHeader.OP_REQUEST).findFirst().orElseThrow()
                    .header().srcPort();
            synchronized (lock) {
                guest.send(52, hostPort, VsockHeader.OP_RESPONSE);
            }
            String expected = "OK " + hostPort + "\n";
            ByteBuffer line = ByteBuffer.allocate(expected.length());
            while (line.hasRemaining() && client.read(line) >= 0) {
                // blocking
            }
            if (!new String(line.array(), StandardCharsets.US_ASCII).equals(expected)) {
                throw new AssertionError("got " + new String(line.array(), StandardCharsets.US_ASCII));
            }
        }
    }

    private static byte[] collect(VsockDriver guest, Object lock, int op, int length) throws Exception {
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (data.size() < length) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + data.size() + " bytes reached the guest");
            }
            Thread.sleep(5);
            synchronized (lock) {
                guest.received().stream().filter(p -> p.op() == op).forEach(p -> data.writeBytes(p.data()));
            }
        }
        return data.toByteArray();
    }
}
