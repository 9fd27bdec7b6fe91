package dev.panavisor.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host program of the vsock lab scenarios (linux-boot-scenarios.sh), the partner of the guest's vsock-pipe:
 * receives until the guest's end of file into RECV, then sends SEND, shuts down its sending side and waits for the
 * guest to close. Prints how long each direction took and its MiB/s.
 *
 * <pre>
 *   VsockPeer listen PATH_P SEND RECV        the guest connects to host port P (the VMM connects PATH_P)
 *   VsockPeer connect PATH P SEND RECV       connect to the guest's port P through PATH ("CONNECT P"), retrying
 *                                            until the VMM and the guest's listener are up
 * </pre>
 */
public final class VsockPeer {
    private VsockPeer() {
    }

    public static void main(String[] args) throws Exception {
        SocketChannel channel;
        Path send;
        Path receive;
        if (args[0].equals("listen")) {
            Path path = Path.of(args[1]);
            Files.deleteIfExists(path);
            try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                listener.bind(UnixDomainSocketAddress.of(path));
                System.out.println("listening");
                channel = listener.accept();
            }
            send = Path.of(args[2]);
            receive = Path.of(args[3]);
        } else {
            channel = connect(Path.of(args[1]), Long.parseLong(args[2]));
            send = Path.of(args[3]);
            receive = Path.of(args[4]);
        }
        try (channel) {
            long start = System.nanoTime();
            long received;
            try (OutputStream out = Files.newOutputStream(receive)) {
                received = copy(channel, out);
            }
            long receivedNanos = System.nanoTime() - start;
            start = System.nanoTime();
            byte[] data = Files.readAllBytes(send);
            ByteBuffer buffer = ByteBuffer.wrap(data);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.shutdownOutput();
            long trailing = copy(channel, OutputStream.nullOutputStream()); // until the guest closes
            long sentNanos = System.nanoTime() - start;
            System.out.printf("guest-to-host %d bytes in %.3f s: %.1f MiB/s%n", received, receivedNanos / 1e9,
                    received / 1048576.0 / (receivedNanos / 1e9));
            System.out.printf("host-to-guest %d bytes in %.3f s: %.1f MiB/s%n", data.length, sentNanos / 1e9,
                    data.length / 1048576.0 / (sentNanos / 1e9));
            if (trailing != 0) {
                System.out.println("unexpected " + trailing + " bytes after the guest's end of file");
                System.exit(1);
            }
        }
    }

    /** Connects through PATH with "CONNECT P", retrying (for up to 5 minutes) until the guest answers OK. */
    private static SocketChannel connect(Path path, long port) throws Exception {
        long deadline = System.nanoTime() + 300_000_000_000L;
        int refused = 0;
        int closed = 0;
        while (true) {
            try {
                SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(path));
                channel.write(ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
                String line = readLine(channel);
                if (line != null && line.startsWith("OK ")) {
                    System.out.println("connected: " + line + " (after " + refused + " refused and " + closed
                            + " closed attempts)");
                    return channel;
                }
                closed++;
                channel.close(); // the guest is not listening yet: the VMM closed the connection
            } catch (IOException e) {
                refused++; // the VMM is not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("no OK from " + path + " for port " + port + " within 5 minutes (" + refused
                        + " refused and " + closed + " closed attempts)");
            }
            Thread.sleep(500);
        }
    }

    private static String readLine(SocketChannel channel) throws IOException {
        StringBuilder line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (channel.read(one.clear()) == 1) {
            if (one.get(0) == '\n') {
                return line.toString();
            }
            line.append((char) one.get(0));
        }
        return null;
    }

    private static long copy(SocketChannel channel, OutputStream out) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        long total = 0;
        while (channel.read(buffer.clear()) >= 0) {
            out.write(buffer.array(), 0, buffer.position());
            total += buffer.position();
        }
        return total;
    }
}
