package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The lab's QMP conversations, against a monitor played on a Unix socket, and the stall report's summary. */
class QemuMonitorTest {
    private static final String GREETING = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n";

    @TempDir
    Path dir;

    @Test
    void each_vcpus_rip_cr3_and_halt_state_are_picked_out() {
        String reply = "{\"return\": \"\\r\\nCPU#0\\r\\nRAX=0000000000000000 RBX=ffffffff82a13940\\r\\n"
                + "RIP=ffffffff81a3c1e2 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\\r\\n"
                + "CR0=80050033 CR2=00007f0c2a1b2000 CR3=0000000102a8e000 CR4=00350ef0\\r\\n"
                + "CPU#1\\r\\nRIP=ffffffffc0a51f00 RFL=00000086 [--S--P-] CPL=0 II=0 A20=1 SMM=0 HLT=0\\r\\n"
                + "CR0=80050033 CR2=0000000000000000 CR3=0000000109f3c000 CR4=00350ef0\\r\\n\"}";
        assertEquals("vCPU 0 RIP=ffffffff81a3c1e2 CR3=0000000102a8e000 HLT=1; "
                + "vCPU 1 RIP=ffffffffc0a51f00 CR3=0000000109f3c000 HLT=0", QemuMonitor.summarize(reply));
        assertEquals("(no registers in QEMU's answer)", QemuMonitor.summarize("{\"return\": \"\"}"));
    }

    /** Greeting, capabilities, an event in between, the command's answer. */
    @Test
    void a_command_gets_its_answer_past_events() throws Exception {
        Path socket = dir.resolve("qmp.sock");
        try (ServerSocketChannel server = listen(socket)) {
            Thread monitor = Thread.ofPlatform().start(() -> serve(server, true));
            String answer = QemuMonitor.converse(socket, Duration.ofSeconds(30), "{\"execute\": \"inject-nmi\"}");
            assertEquals("{\"return\": {}}", answer);
            monitor.join();
        }
    }

    /**
     * A monitor that takes the connection and then says nothing (QEMU's main loop stuck): the conversation ends
     * with an error at its limit, and the lab's watchdog, which asked, goes on.
     */
    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void a_monitor_that_never_answers_ends_the_conversation_at_its_limit() throws Exception {
        Path socket = dir.resolve("qmp.sock");
        try (ServerSocketChannel server = listen(socket)) {
            CountDownLatch done = new CountDownLatch(1);
            Thread monitor = Thread.ofPlatform().start(() -> {
                try (SocketChannel client = server.accept()) {
                    done.await(); // holds the connection open, silent
                } catch (IOException | InterruptedException e) {
                    // the test ends it
                }
            });
            IOException e = assertThrows(IOException.class,
                    () -> QemuMonitor.converse(socket, Duration.ofSeconds(1), "{\"execute\": \"inject-nmi\"}"));
            done.countDown();
            monitor.join();
            assertEquals("QEMU's monitor did not answer within 1 s", e.getMessage());
        }
    }

    /**
     * A QEMU that accepts no connection any more, with its backlog full of the lab's earlier attempts: the connect
     * itself must not hold the watchdog (a blocking connect to a full backlog never returns).
     */
    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void a_monitor_whose_backlog_is_full_is_an_error_not_a_hang() throws Exception {
        Path socket = dir.resolve("qmp.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket), 1); // as QEMU's chardev listens; never accepted
            java.util.List<SocketChannel> queued = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) { // fills the backlog; a connect that cannot be queued fails at once
                    SocketChannel early = SocketChannel.open(StandardProtocolFamily.UNIX);
                    early.configureBlocking(false);
                    queued.add(early);
                    try {
                        early.connect(UnixDomainSocketAddress.of(socket));
                    } catch (IOException full) {
                        break;
                    }
                }
                // A hang here is what @Timeout catches; the refusal itself is the kernel's (EAGAIN) or, if a
                // place was left in the backlog, the limit's.
                assertThrows(IOException.class,
                        () -> QemuMonitor.converse(socket, Duration.ofSeconds(1), "{\"execute\": \"inject-nmi\"}"));
            } finally {
                for (SocketChannel early : queued) {
                    early.close();
                }
            }
        }
    }

    @Test
    void a_refusal_is_an_error_with_qemus_words() throws Exception {
        Path socket = dir.resolve("qmp.sock");
        try (ServerSocketChannel server = listen(socket)) {
            Thread monitor = Thread.ofPlatform().start(() -> serve(server, false));
            IOException e = assertThrows(IOException.class,
                    () -> QemuMonitor.converse(socket, Duration.ofSeconds(30), "{\"execute\": \"inject-nmi\"}"));
            monitor.join();
            assertTrue(e.getMessage().startsWith("QEMU refused: {\"error\""), e.getMessage());
        }
    }

    private static ServerSocketChannel listen(Path socket) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return server;
    }

    /** Plays QEMU's side of one conversation: answers the command, or refuses it. */
    private static void serve(ServerSocketChannel server, boolean answer) {
        try (SocketChannel client = server.accept()) {
            InputStream in = Channels.newInputStream(client);
            OutputStream out = Channels.newOutputStream(client);
            out.write(GREETING.getBytes(StandardCharsets.UTF_8));
            readLine(in);
            out.write("{\"return\": {}}\n".getBytes(StandardCharsets.UTF_8));
            readLine(in);
            String reply = answer ? "{\"event\": \"RESUME\"}\n{\"return\": {}}\n"
                    : "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\n";
            out.write(reply.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void readLine(InputStream in) throws IOException {
        for (int b; (b = in.read()) >= 0 && b != '\n'; ) {
            // the command; its text is not checked here
        }
    }
}
