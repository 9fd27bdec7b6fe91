package dev.panavisor.lab;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The few QMP commands the lab sends to its QEMU over the monitor's Unix socket (QEMU's QMP protocol: a greeting,
 * {@code qmp_capabilities} to leave negotiation mode, then one JSON command per line, each answered with a
 * {@code "return"} or an {@code "error"} object). Only what is needed, so plain strings, no JSON library.
 *
 * <p>Each conversation has {@link #ANSWER_LIMIT} to finish: the lab's watchdog, which also ends a lab at its time
 * limit, is the thread that talks to the monitor, and a QEMU that takes the connection but never answers (its main
 * loop stuck) must not hold it.
 */
final class QemuMonitor {
    /** How long one conversation with the monitor may take, from the connection to the last answer. */
    static final Duration ANSWER_LIMIT = Duration.ofSeconds(10);

    private QemuMonitor() {
    }

    /**
     * Injects an NMI into every L1 vCPU ({@code inject-nmi}). An NMI is delivered even to a vCPU that is running an
     * L2 guest (KVM intercepts NMIs in guest mode), so it hands control back to L1's kernel; see docs/lab.md,
     * "Stalls". Returns QEMU's answer line, or throws when QEMU cannot be reached or refuses.
     */
    static String injectNmi(Path socket) throws IOException {
        return converse(socket, ANSWER_LIMIT, "{\"execute\": \"inject-nmi\"}");
    }

    /**
     * Where each L1 vCPU is, from HMP's {@code info registers -a} through QMP: one line per vCPU with its number,
     * RIP, CR3 and halted state (L1 boots with nokaslr, so RIP can be looked up in the /proc/kallsyms of any lab:
     * Debian's System.map is only a stub). For the stall report; throws when QEMU cannot be reached.
     */
    static String vcpuStates(Path socket) throws IOException {
        return summarize(converse(socket, ANSWER_LIMIT, "{\"execute\": \"human-monitor-command\", \"arguments\": "
                + "{\"command-line\": \"info registers -a\"}}"));
    }

    /**
     * One conversation: the greeting, {@code qmp_capabilities}, then {@code command}; returns the command's answer
     * line. Throws when QEMU cannot be reached, refuses, or has not answered within {@code limit}.
     */
    static String converse(Path socket, Duration limit, String command) throws IOException {
        long deadline = System.nanoTime() + limit.toNanos();
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                Selector selector = Selector.open()) {
            // Not blocking from the connect on: a QEMU that accepts nothing any more leaves earlier connections in
            // its backlog (QEMU listens with a backlog of 1), and a blocking connect to a full backlog never returns.
            channel.configureBlocking(false);
            Conversation qmp = new Conversation(channel, selector, deadline, limit);
            qmp.connect(UnixDomainSocketAddress.of(socket));
            qmp.lineContaining("\"QMP\""); // the greeting
            qmp.send("{\"execute\": \"qmp_capabilities\"}");
            qmp.lineContaining("\"return\"");
            qmp.send(command);
            return qmp.lineContaining("\"return\"");
        }
    }

    /** The CPU number, RIP, CR3 and HLT of each vCPU in {@code info registers -a}'s text (JSON-escaped). */
    static String summarize(String reply) {
        StringBuilder out = new StringBuilder();
        java.util.regex.Matcher cpu = java.util.regex.Pattern.compile(
                "CPU#(\\d+).*?RIP=([0-9a-f]+).*?HLT=(\\d).*?CR3=([0-9a-f]+)", java.util.regex.Pattern.DOTALL)
                .matcher(reply);
        while (cpu.find()) {
            out.append(out.isEmpty() ? "" : "; ").append("vCPU ").append(cpu.group(1)).append(" RIP=")
                    .append(cpu.group(2)).append(" CR3=").append(cpu.group(4)).append(" HLT=").append(cpu.group(3));
        }
        return out.isEmpty() ? "(no registers in QEMU's answer)" : out.toString();
    }

    /** One connection's lines, each step bounded by the conversation's deadline. */
    private static final class Conversation {
        private final SocketChannel channel;
        private final Selector selector;
        private final long deadline;
        private final Duration limit;
        private final ByteBuffer buffer = ByteBuffer.allocate(8192);
        private final StringBuilder pending = new StringBuilder();

        Conversation(SocketChannel channel, Selector selector, long deadline, Duration limit) throws IOException {
            this.channel = channel;
            this.selector = selector;
            this.deadline = deadline;
            this.limit = limit;
            channel.register(selector, 0);
        }

        void connect(UnixDomainSocketAddress address) throws IOException {
            // A UNIX socket connects at once or fails at once (a full backlog: EAGAIN); the wait is for any other.
            if (!channel.connect(address)) {
                do {
                    await(SelectionKey.OP_CONNECT);
                } while (!channel.finishConnect());
            }
        }

        void send(String command) throws IOException {
            ByteBuffer bytes = ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                if (channel.write(bytes) == 0) {
                    await(SelectionKey.OP_WRITE);
                }
            }
        }

        /** Reads QMP's answer lines, skipping asynchronous events, until one contains the text wanted. */
        String lineContaining(String wanted) throws IOException {
            while (true) {
                int end = pending.indexOf("\n");
                if (end >= 0) {
                    String line = pending.substring(0, end);
                    pending.delete(0, end + 1);
                    if (line.contains("\"error\"")) {
                        throw new IOException("QEMU refused: " + line.strip());
                    }
                    if (line.contains(wanted)) {
                        return line.strip();
                    }
                    continue; // an event ({"event": ...}) or another answer
                }
                buffer.clear();
                int n = channel.read(buffer);
                if (n < 0) {
                    throw new IOException("QEMU closed its monitor");
                }
                if (n == 0) {
                    await(SelectionKey.OP_READ);
                    continue;
                }
                buffer.flip();
                pending.append(StandardCharsets.UTF_8.decode(buffer));
            }
        }

        /** Waits until the channel is ready for {@code operation}, or throws once the deadline has passed. */
        private void await(int operation) throws IOException {
            channel.keyFor(selector).interestOps(operation);
            long left = deadline - System.nanoTime();
            if (left <= 0 || selector.select(Math.max(1, left / 1_000_000)) == 0 && System.nanoTime() >= deadline) {
                throw new IOException("QEMU's monitor did not answer within " + limit.toSeconds() + " s");
            }
            selector.selectedKeys().clear();
        }
    }
}
