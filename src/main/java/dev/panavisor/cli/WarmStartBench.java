package dev.panavisor.cli;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.IoErrors;
import dev.panavisor.lab.RecycledCodePages;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * {@code bench boot --warm}: the time from "start the VM" to the guest init's banner when the VMM process is
 * already up and configured, for both VMMs in one run.
 * <ul>
 *   <li><b>Panavisor</b>: {@code panavisor serve} is started and given its VM over the API (PUT /boot-source,
 *       /machine-config) once its standby VM process says it is warm; the clock starts as PUT /actions
 *       InstanceStart is sent.</li>
 *   <li><b>QEMU</b>: started paused ({@code -S}) with a QMP socket, which is told {@code qmp_capabilities}; the
 *       clock starts as {@code cont} is sent.</li>
 * </ul>
 * Both clocks stop when the line "panavisor-init: booted in" arrives on the VMM's output. Firecracker's comparable
 * figure is InstanceStart to init. QEMU has built the whole machine and loaded the kernel before {@code cont};
 * Panavisor's standby builds its VM as soon as the configuration can start (docs/api.md, "A warm start"), and the
 * clock starts once serve has said it is built.
 */
final class WarmStartBench {
    private static final String BANNER = "panavisor-init: booted in";
    private static final String WARM = "the VM process is up and warm";

    private WarmStartBench() {
    }

    /**
     * One warm start: milliseconds from the start request to the banner, and the guest's own share of them, the
     * uptime its banner reports (from the kernel's clock start; the rest is the VMM's and the kernel's
     * decompression).
     */
    record Start(double totalMs, double guestMs) {
        double beforeGuestMs() {
            return totalMs - guestMs;
        }
    }

    /** The uptime in a banner line "panavisor-init: booted in 1.23 s", in milliseconds; NaN if it has none. */
    static double bannerUptimeMs(String line) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(BANNER + " ([0-9]+(?:\\.[0-9]+)?) s")
                .matcher(line);
        return m.find() ? Double.parseDouble(m.group(1)) * 1000 : Double.NaN;
    }

    /** One warm start of Panavisor: from InstanceStart's request to the banner. */
    static Start panavisor(List<String> javaCommand, Path kernel, Path initrd, String execBase64,
            RecycledCodePages clearing) throws IOException, InterruptedException {
        // serve with its standby VM process and the directory of its API socket: gone when this returns, however.
        try (ExitCleanup cleanup = ExitCleanup.install()) {
            Path dir = cleanup.temporaryDirectory("panavisor-warm-");
            Path api = dir.resolve("api.sock");
            List<String> command = new ArrayList<>(javaCommand);
            command.addAll(List.of("serve", "--api-sock=" + api));
            Process serve = start(cleanup, command);
            Lines lines = new Lines("panavisor serve", serve.getInputStream());
            lines.await(line -> line.contains(WARM), 5);
            // The machine first: the configuration is then complete with the boot source, and built once.
            put(api, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 256}", lines);
            put(api, "/boot-source", "{\"kernel_image_path\": \"" + kernel + "\", \"initrd_path\": \"" + initrd
                    + "\", \"boot_args\": \"panavisor.exec=" + execBase64 + "\"}", lines);
            // As QEMU's machine is built before cont: the standby has built the VM, or said it would not.
            lines.await(line -> line.contains(Standby.BUILT) || line.contains(Standby.NOT_BUILT), 3);
            clearing.clearBeforeRun();
            long start = System.nanoTime();
            put(api, "/actions", "{\"action_type\": \"InstanceStart\"}", lines);
            long banner = lines.await(line -> line.contains(BANNER), 3);
            finish(serve, lines);
            return new Start((banner - start) / 1e6, bannerUptimeMs(lines.first(BANNER)));
        }
    }

    /** One warm start of QEMU: from QMP {@code cont} to the banner; {@code command} without -S. */
    static Start qemu(List<String> qemuCommand, RecycledCodePages clearing) throws IOException, InterruptedException {
        try (ExitCleanup cleanup = ExitCleanup.install()) {
            Path dir = cleanup.temporaryDirectory("panavisor-warm-");
            Path qmp = dir.resolve("qmp.sock");
            List<String> command = new ArrayList<>(qemuCommand);
            command.addAll(List.of("-S", "-qmp", "unix:" + qmp + ",server=on,wait=off"));
            Process qemu = start(cleanup, command);
            Lines lines = new Lines("qemu-system-x86_64", qemu.getInputStream());
            try (SocketChannel channel = connectWhenThere(qmp, qemu, lines)) {
                BufferedReader replies = new BufferedReader(Channels.newReader(channel, StandardCharsets.UTF_8));
                qmpReply(replies, "{\"QMP\"", lines); // the greeting
                send(channel, "{\"execute\": \"qmp_capabilities\"}\n");
                qmpReply(replies, "{\"return\"", lines);
                clearing.clearBeforeRun();
                long start = System.nanoTime();
                send(channel, "{\"execute\": \"cont\"}\n");
                long banner = lines.await(line -> line.contains(BANNER), 3);
                finish(qemu, lines);
                return new Start((banner - start) / 1e6, bannerUptimeMs(lines.first(BANNER)));
            }
        }
    }

    private static Process start(ExitCleanup cleanup, List<String> command) throws InterruptedException {
        try {
            return cleanup.start(new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))));
        } catch (IOException e) {
            throw new CommandFailedException("cannot start " + command.getFirst() + ": " + e.getMessage());
        }
    }

    /** The guest runs {@code true} and powers off; its VMM must then end with status 0. */
    private static void finish(Process process, Lines lines) throws InterruptedException {
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            throw lines.failure("did not end within 2 min of its guest's command");
        }
        if (process.exitValue() != 0) {
            throw lines.failure("ended with status " + process.exitValue());
        }
    }

    private static SocketChannel connectWhenThere(Path socket, Process owner, Lines lines)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            if (Files.exists(socket)) {
                try {
                    return SocketChannel.open(UnixDomainSocketAddress.of(socket));
                } catch (IOException e) {
                    // Bound but not listening yet: try again.
                }
            }
            if (!owner.isAlive() || System.nanoTime() > deadline) {
                throw lines.failure("made no QMP socket at " + socket);
            }
            Thread.sleep(20);
        }
    }

    private static void qmpReply(BufferedReader replies, String prefix, Lines lines) throws IOException {
        String line;
        while ((line = replies.readLine()) != null) {
            if (line.startsWith(prefix)) {
                return;
            }
            if (line.startsWith("{\"error\"")) {
                break;
            }
        }
        throw lines.failure("did not answer " + prefix + " on QMP (its last reply: " + line + ")");
    }

    private static void send(SocketChannel channel, String text) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    /**
     * One HTTP/1.1 request on the API's UNIX socket (the JDK's HTTP client speaks only TCP); returns the status
     * code of the answer's first line. The rest of the answer is not needed.
     */
    static int http(Path socket, String method, String path, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            send(channel, method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n" + json);
            String status = new BufferedReader(Channels.newReader(channel, StandardCharsets.ISO_8859_1)).readLine();
            if (status == null || !status.startsWith("HTTP/1.1 ") || status.length() < 12) {
                throw new IOException("not an HTTP answer to " + method + " " + path + ": " + status);
            }
            return Integer.parseInt(status.substring(9, 12));
        }
    }

    /** A PUT that serve must answer with 204 No Content, as Firecracker's API does. */
    private static void put(Path api, String path, String json, Lines lines) {
        int status;
        try {
            status = http(api, "PUT", path, json);
        } catch (IOException e) { // serve gone, or not speaking HTTP
            throw lines.failure("did not answer PUT " + path + ": " + IoErrors.describe(e));
        }
        if (status != 204) {
            throw lines.failure("answered PUT " + path + " with " + status + ", expected 204");
        }
    }

    /** A process's output lines as they arrive, each with its arrival time, read on a thread of its own. */
    static final class Lines {
        private final String program;
        private final List<String> text = new ArrayList<>();
        private final List<Long> arrived = new ArrayList<>();
        private boolean ended;

        Lines(String program, InputStream stream) {
            this.program = program;
            Thread.ofPlatform().name("bench-lines").daemon().start(() -> {
                try (BufferedReader reader = new BufferedReader(
                        new InputStreamReader(stream, StandardCharsets.ISO_8859_1))) {
                    String line;
                    while ((line = reader.readLine()) != null) {
                        add(line);
                    }
                } catch (IOException e) {
                    add("(output unreadable: " + e.getMessage() + ")");
                } finally {
                    synchronized (this) {
                        ended = true;
                        notifyAll();
                    }
                }
            });
        }

        private synchronized void add(String line) {
            text.add(line);
            arrived.add(System.nanoTime());
            notifyAll();
        }

        /** The arrival time (System.nanoTime) of the first line {@code wanted} accepts, waiting for it. */
        synchronized long await(Predicate<String> wanted, int minutes) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(minutes);
            int seen = 0;
            while (true) {
                for (; seen < text.size(); seen++) {
                    if (wanted.test(text.get(seen))) {
                        return arrived.get(seen);
                    }
                }
                long left = deadline - System.nanoTime();
                if (ended || left <= 0) {
                    throw failure(ended ? "ended before printing the line the benchmark waits for"
                            : "did not print the line the benchmark waits for within " + minutes + " min");
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        /** The first line that contains {@code fragment}, or "" when none has arrived. */
        synchronized String first(String fragment) {
            return text.stream().filter(line -> line.contains(fragment)).findFirst().orElse("");
        }

        /** {@code what} this program did wrong, with its output so far for the command to show the last lines of. */
        synchronized RunFailedException failure(String what) {
            return new RunFailedException(program, program + " " + what, String.join("\n", text));
        }
    }
}
