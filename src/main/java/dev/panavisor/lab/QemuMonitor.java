package dev.panavisor.lab;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The few QMP commands the lab sends to its QEMU over the monitor's Unix socket (QEMU's QMP protocol: a greeting,
 * {@code qmp_capabilities} to leave negotiation mode, then one JSON command per line, each answered with a
 * {@code "return"} or an {@code "error"} object). Only what is needed, so plain strings, no JSON library.
 */
final class QemuMonitor {
    private QemuMonitor() {
    }

    /**
     * Injects an NMI into every L1 vCPU ({@code inject-nmi}). An NMI is delivered even to a vCPU that is running an
     * L2 guest (KVM intercepts NMIs in guest mode), so it hands control back to L1's kernel; see docs/lab.md,
     * "Stalls". Returns QEMU's answer line, or throws when QEMU cannot be reached or refuses.
     */
    static String injectNmi(Path socket) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            LineReader in = new LineReader(channel);
            in.lineContaining("\"QMP\""); // the greeting
            send(channel, "{\"execute\": \"qmp_capabilities\"}");
            in.lineContaining("\"return\"");
            send(channel, "{\"execute\": \"inject-nmi\"}");
            return in.lineContaining("\"return\"");
        }
    }

    /**
     * Where each L1 vCPU is, from HMP's {@code info registers -a} through QMP: one line per vCPU with its number,
     * RIP, CR3 and halted state (L1 boots with nokaslr, so RIP can be looked up in the /proc/kallsyms of any lab:
     * Debian's System.map is only a stub). For the stall report; throws when QEMU cannot be reached.
     */
    static String vcpuStates(Path socket) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            LineReader in = new LineReader(channel);
            in.lineContaining("\"QMP\"");
            send(channel, "{\"execute\": \"qmp_capabilities\"}");
            in.lineContaining("\"return\"");
            send(channel, "{\"execute\": \"human-monitor-command\", \"arguments\": "
                    + "{\"command-line\": \"info registers -a\"}}");
            return summarize(in.lineContaining("\"return\""));
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

    private static void send(SocketChannel channel, String command) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    /** Reads QMP's answer lines, skipping asynchronous events, until one contains the text wanted. */
    private static final class LineReader {
        private final SocketChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocate(8192);
        private final StringBuilder pending = new StringBuilder();

        LineReader(SocketChannel channel) {
            this.channel = channel;
        }

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
                if (channel.read(buffer) < 0) {
                    throw new IOException("QEMU closed its monitor");
                }
                buffer.flip();
                pending.append(StandardCharsets.UTF_8.decode(buffer));
            }
        }
    }
}
