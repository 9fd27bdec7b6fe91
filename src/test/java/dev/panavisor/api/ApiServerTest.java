package dev.panavisor.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API on a real UNIX socket, driven with {@code curl --unix-socket} as Firecracker's getting-started guide
 * drives Firecracker; the VM launcher is a fake, so this runs anywhere curl does.
 */
class ApiServerTest {
    @TempDir
    Path dir;

    final ApiRoutesTest.FakeLauncher launcher = new ApiRoutesTest.FakeLauncher();
    final List<String> warnings = new ArrayList<>();
    ApiServer server;

    record Answer(int status, String body) {
    }

    ApiServer serve() {
        server = ApiServer.start(dir.resolve("api.sock"), new ApiRoutes(launcher, warnings::add, "test"));
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** One curl request; the status is the last line curl prints (-w). */
    Answer curl(String method, String path, String data) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "--unix-socket",
                server.socket().toString(), "-X", method, "-w", "\n%{http_code}"));
        if (data != null) {
            command.addAll(List.of("-H", "Content-Type: application/json", "--data-binary", data));
        }
        command.add("http://localhost" + path);
        Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, curl.waitFor(), output);
        int split = output.lastIndexOf('\n');
        return new Answer(Integer.parseInt(output.substring(split + 1).strip()), output.substring(0, split));
    }

    @Test
    void firecrackers_getting_started_sequence_with_curl() throws Exception {
        serve();
        // The guide's files, here (the API opens them when it takes the request, as Firecracker does).
        Path kernel = Files.writeString(dir.resolve("vmlinux-6.1"), "kernel");
        Path rootfs = Files.writeString(dir.resolve("ubuntu-24.04.ext4"), "rootfs");
        assertEquals(new Answer(204, ""), curl("PUT", "/logger", """
                {"log_path": "./firecracker.log", "level": "Debug", "show_level": true, "show_log_origin": true}"""));
        assertEquals(new Answer(204, ""), curl("PUT", "/boot-source", """
                {"kernel_image_path": "%s", "boot_args": "console=ttyS0 reboot=k panic=1"}""".formatted(kernel)));
        assertEquals(new Answer(204, ""), curl("PUT", "/drives/rootfs", """
                {"drive_id": "rootfs", "path_on_host": "%s", "is_root_device": true,
                 "is_read_only": false}""".formatted(rootfs)));
        assertEquals(new Answer(204, ""), curl("PUT", "/network-interfaces/net1", """
                {"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "tap0"}"""));
        assertEquals(new Answer(204, ""), curl("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"));

        assertEquals(1, launcher.started.size());
        VmSpec spec = launcher.started.getFirst();
        assertEquals(kernel, spec.kernel());
        assertEquals("console=ttyS0 reboot=k panic=1", spec.bootArgs());
        assertEquals(rootfs, spec.disks().getFirst().path());
        assertEquals(1, warnings.size(), warnings.toString()); // the logger
        assertEquals("tap0", spec.net().orElseThrow().tap(), "the network interface reaches the VM");
        Answer info = curl("GET", "/", null);
        assertEquals(200, info.status());
        assertTrue(info.body().contains("\"state\":\"Running\""), info.body());
        assertEquals(new Answer(200, "{\"vcpu_count\":1,\"mem_size_mib\":256,\"smt\":false,"
                + "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}"), curl("GET", "/machine-config", null));
    }

    @Test
    void bad_requests_one_by_one_each_a_fault_and_the_server_goes_on() throws Exception {
        serve();
        String[][] cases = {
                {"PUT", "/boot-source", "{\"kernel_image_path\": ", "not valid JSON"},
                {"PUT", "/boot-source", null, "the request needs a JSON body"},
                {"PUT", "/boot-source", "{\"initrd_path\": \"i\"}", "boot-source.kernel_image_path: missing"},
                {"PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 128}", "machine-config.vcpu_count"},
                {"PUT", "/drives/x", "{\"drive_id\": \"y\", \"path_on_host\": \"p\", \"is_root_device\": true}",
                        "differs from the id in the path"},
                {"PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", "boot-source: not configured"},
                {"PUT", "/actions", "{\"action_type\": 5}", "action.action_type: expected a string"},
                {"POST", "/actions", "{\"action_type\": \"InstanceStart\"}", "invalid request method and/or path"},
                {"GET", "/vm/config", null, "invalid request method and/or path: GET /vm/config"},
                {"PUT", "/boot-source", "{\"kernel_image_path\": \"" + "k".repeat(60_000) + "\"}",
                        "larger than 51200 bytes"},
                {"PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + server.socket() + "\"}",
                        "vsock.uds_path: " + server.socket() + " would reach the API's own socket"},

        };
        for (String[] c : cases) {
            Answer answer = curl(c[0], c[1], c[2]);
            assertEquals(400, answer.status(), c[0] + " " + c[1] + ": " + answer);
            assertTrue(answer.body().startsWith("{\"fault_message\":\"") && answer.body().contains(c[3]),
                    c[0] + " " + c[1] + ": " + answer.body());
            assertEquals(1, answer.body().lines().count(), answer.body());
        }
        // Malformed HTTP, refused by Jetty before any route: the same JSON fault body, and the next client is served.
        String[][] raw = {
                {"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n", "HTTP/1.1 400"},
                {"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
                {"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + "a".repeat(20_000) + "\r\n\r\n", "HTTP/1.1 431"},
        };
        for (String[] c : raw) {
            String text = rawRequest(c[0].getBytes(StandardCharsets.ISO_8859_1));
            assertTrue(text.startsWith(c[1]), text);
            assertTrue(text.contains("Content-Type: application/json") && text.contains("{\"fault_message\":\""),
                    text);
        }
        // A body that is not UTF-8 is refused, not read with U+FFFD in place of its bad bytes.
        byte[] body = "{\"kernel_image_path\": \"/k\u00ff\"}".getBytes(StandardCharsets.ISO_8859_1); // 0xff
        byte[] head = ("PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] request = java.util.Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, request, head.length, body.length);
        String text = rawRequest(request);
        assertTrue(text.startsWith("HTTP/1.1 400") && text.contains("the request body is not valid UTF-8"), text);
        assertEquals(200, curl("GET", "/", null).status());
        assertTrue(launcher.started.isEmpty());
    }

    /** Sends {@code request} as it is on a fresh connection and returns what came back before the server closed. */
    private String rawRequest(byte[] request) throws IOException {
        try (SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            raw.connect(UnixDomainSocketAddress.of(server.socket()));
            raw.write(ByteBuffer.wrap(request));
            raw.shutdownOutput();
            java.io.ByteArrayOutputStream reply = new java.io.ByteArrayOutputStream();
            ByteBuffer buffer = ByteBuffer.allocate(4096);
            while (raw.read(buffer) > 0) {
                reply.write(buffer.array(), 0, buffer.position());
                buffer.clear();
            }
            return reply.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /**
     * Clients that send their bodies a byte at a time, more of them than the server has threads, each byte well
     * within Jetty's idle timeout: each request ends at the body's deadline (here 1 s), so a plain request is still
     * answered. (Before the deadline the trickling clients held every handler thread, and curl gave up.)
     */
    @Test
    @Timeout(120)
    void bodies_that_trickle_in_end_at_their_deadline_and_other_requests_are_served() throws Exception {
        server = ApiServer.start(dir.resolve("api.sock"), new ApiRoutes(launcher, warnings::add, "test"), 1_000);
        List<SocketChannel> slow = new ArrayList<>();
        Thread trickle = null;
        try {
            for (int i = 0; i < 12; i++) {
                SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(server.socket()));
                client.write(ByteBuffer.wrap(("PUT /machine-config HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
                        .getBytes(StandardCharsets.US_ASCII)));
                slow.add(client);
            }
            trickle = Thread.ofPlatform().daemon().start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    for (SocketChannel client : slow) {
                        try {
                            client.write(ByteBuffer.wrap(new byte[] {' '}));
                        } catch (IOException e) {
                            // this one was ended
                        }
                    }
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            Answer answer = curl("GET", "/", null);
            assertEquals(200, answer.status(), answer.body());
            for (SocketChannel client : slow) {
                // Each slow request ends: answered with an error, or its connection closed (the test's timeout
                // fails it if one is held open while its body still trickles in).
                ByteBuffer reply = ByteBuffer.allocate(4096);
                int read;
                try {
                    read = client.read(reply);
                } catch (IOException reset) {
                    read = -1; // closed with its trickled bytes unread: the connection was reset, as good as ended
                }
                String text = new String(reply.array(), 0, Math.max(read, 0), StandardCharsets.ISO_8859_1);
                assertTrue(read < 0 || text.startsWith("HTTP/1.1 4"), text);
            }
        } finally {
            if (trickle != null) {
                trickle.interrupt();
            }
            for (SocketChannel client : slow) {
                client.close();
            }
        }
    }

    @Test
    void the_socket_is_the_owner_s_alone() throws Exception {
        Path socket = serve().socket();
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(socket)));
    }

    @Test
    void a_socket_path_in_use_is_refused_and_the_socket_goes_at_close() throws Exception {
        Path socket = serve().socket();
        assertTrue(Files.exists(socket));
        ApiException e = assertThrows(ApiException.class,
                () -> ApiServer.start(socket, new ApiRoutes(launcher, warnings::add, "test")));
        assertEquals("API socket " + socket + " already exists; remove it or choose another path", e.getMessage());
        server.close();
        server = null;
        assertFalse(Files.exists(socket));
        e = assertThrows(ApiException.class, () -> ApiServer.start(dir.resolve("no/such/dir/api.sock"),
                new ApiRoutes(launcher, warnings::add, "test")));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    /**
     * A stop that never ends (as Jetty's once did in these tests: ApiServer.stopWithin) holds the caller for the
     * bound, not for ever; one that ends is waited for and reported as ended. The test's own timeout fails it if
     * the bound ever goes, instead of hanging the suite.
     */
    @Test
    @Timeout(60)
    void a_stop_that_hangs_is_left_behind_after_the_bound() throws InterruptedException {
        CountDownLatch never = new CountDownLatch(1);
        CountDownLatch began = new CountDownLatch(1);
        try {
            long start = System.nanoTime();
            assertFalse(ApiServer.stopWithin(() -> {
                began.countDown();
                never.await();
            }, 300));
            // Not before the bound (the hang guard is the test's @Timeout, not an upper bound on time).
            assertTrue((System.nanoTime() - start) / 1_000_000 >= 300, "the caller waited for the stop's bound");
            assertTrue(began.await(10, java.util.concurrent.TimeUnit.SECONDS), "the stop ran");
            assertEquals(1, never.getCount(), "and was still under way when the caller went on");
            List<String> ran = new ArrayList<>();
            assertTrue(ApiServer.stopWithin(() -> ran.add("stopped"), 10_000));
            assertEquals(List.of("stopped"), ran);
        } finally {
            never.countDown();
        }
    }

    /** The server stops once: a second stop (serve's shutdown hook and its main thread both stop it) is a no-op. */
    @Test
    @Timeout(60)
    void a_second_stop_returns_at_once() throws Exception {
        Path socket = serve().socket();
        assertTrue(server.stop());
        assertFalse(Files.exists(socket));
        Files.writeString(socket, "another's"); // a file at the path now is not the server's to remove
        assertTrue(server.stop());
        assertTrue(Files.exists(socket), "a second stop removed the socket path again");
    }
}
