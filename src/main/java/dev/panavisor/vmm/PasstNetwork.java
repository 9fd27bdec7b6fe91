package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.net.VirtioNet;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A network card's host side on passt ({@code run --net user}): the user-mode network stack that podman and
 * libkrun use (Debian package {@code passt}), so a guest reaches the host's network without root, a TAP or a
 * bridge. passt turns the guest's Ethernet frames into ordinary sockets of its own process, answers ARP and DHCP
 * itself, and maps the gateway address to the host's loopback; {@code --publish HOST:GUEST} becomes its
 * {@code -t HOST:GUEST}, so connections to the host's port reach the guest.
 *
 * <p>Process: passt puts itself into new namespaces as it starts, so the process Panavisor starts exits (status 0)
 * once its child serves; that child writes its PID to a file ({@code --pid}), which is how Panavisor knows it.
 *
 * <p>Protocol: passt listens on a UNIX stream socket and takes one client (here: {@code -1}, one-off, so it ends
 * when Panavisor lets go). Each frame travels as a 32-bit big-endian length, then the Ethernet frame (no virtio-net
 * header, no frame check sequence): the framing of QEMU's {@code -netdev stream}, which passt speaks.
 *
 * <p>Addresses are fixed, as QEMU's user network does it: the guest is {@link #GUEST_ADDRESS}/24, the gateway
 * (the host, to the guest) {@link #GATEWAY}; Panavisor puts the matching {@code ip=} on the kernel command line
 * unless the user gave one ({@link KernelCommandLine}). passt's MTU is 1500 (its {@code --mtu}); the device sends
 * it frames of up to {@link #maxFrame()} bytes, passt's limit, and drops longer ones.
 *
 * <p>Threads: transmit runs on the device's worker and writes whole frames under a lock (a blocking write: passt
 * reads as fast as it can, and the worker has nothing else to do meanwhile). Receive is one thread reading the
 * socket; a frame read is held until the guest has a buffer for it ({@link #wake()} releases the wait), so nothing
 * is read and dropped for want of a buffer. When passt ends while the VM runs, the guest keeps running without a
 * network: one line says so, later frames from the guest are dropped (counted by the device).
 */
final class PasstNetwork implements HostNetwork {
    static final String GUEST_ADDRESS = "10.0.2.15";
    static final String GATEWAY = "10.0.2.2";
    static final int PREFIX = 24;
    static final String NETMASK = "255.255.255.0";
    /** The kernel's {@code ip=client::gateway:netmask::device:autoconf} for the fixed addresses (no DHCP needed). */
    static final String KERNEL_IP_PARAMETER = "ip=" + GUEST_ADDRESS + "::" + GATEWAY + ":" + NETMASK + "::eth0:off";
    /** How long passt may take to bind its socket. */
    static final long START_LIMIT_MS = 10_000;
    /** Most frames delivered before the driver is notified once for all of them (as {@link TapNetwork#BURST}). */
    static final int BURST = 64;

    /** Where received frames go: the device, under its transport's lock; a list in tests. */
    interface Receiver {
        boolean canReceive();

        /** False when the frame was not taken: the guest had too few buffers for it (mergeable buffers). */
        boolean receive(byte[] frame, int length);

        void endBurst();
    }

    private final ProcessHandle passt;
    private final Path directory;
    private final SocketChannel socket;
    private final Consumer<String> warnings;
    private final Object sendLock = new Object();
    /** The length and the frame, sent in one write(2) (the system-call filter has no writev). */
    private final ByteBuffer sendBuffer = ByteBuffer.allocateDirect(4 + VirtioNet.MAX_FRAME);
    private final Semaphore buffersPosted = new Semaphore(0);
    private Thread thread;
    private volatile boolean stopping;

    private PasstNetwork(ProcessHandle passt, Path directory, SocketChannel socket, Consumer<String> warnings) {
        this.passt = passt;
        this.directory = directory;
        this.socket = socket;
        this.warnings = warnings;
    }

    /**
     * Starts passt with {@code network}'s port forwards and connects to it, or fails with one line: passt missing
     * (and how to install it), passt refusing to start (its own words), or no socket in time.
     *
     * @param program  the passt executable ({@code passt} from PATH normally)
     * @param warnings where the line goes if passt ends while the VM runs
     */
    static PasstNetwork start(String program, MachineConfig.UserNetwork network, Consumer<String> warnings) {
        Path directory;
        try {
            directory = Files.createTempDirectory("panavisor-passt-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            // Started as root, passt binds its socket and then becomes "nobody" before it writes its PID file:
            // the private directory is nobody's then (root reaches it anyway).
            if ("root".equals(System.getProperty("user.name"))) {
                Files.setOwner(directory, directory.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByName("nobody"));
            }
        } catch (IOException e) {
            throw new VmmException("--net user: cannot make a directory for passt's socket: " + e.getMessage(), e);
        }
        Path path = directory.resolve("passt.socket");
        // passt's output goes to a file, not a pipe read by a thread: the error line read that thread's buffer
        // before the thread had passt's words (in the lab it said "it said nothing"), and the JDK drains and closes
        // a started process's pipe when the process exits. In the file, the words are there once passt has
        // written them. With --quiet, passt writes only its errors and warnings.
        Path log = directory.resolve("passt.log");
        try {
            Files.createFile(log);
        } catch (IOException e) {
            deleteQuietly(directory);
            throw new VmmException("--net user: cannot make a file for passt's output: " + e.getMessage(), e);
        }
        Process process;
        try {
            process = new ProcessBuilder(command(program, path, network)).redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            deleteQuietly(directory);
            throw new VmmException("--net user needs passt, the user-mode network stack (Debian package passt: "
                    + "apt-get install passt): " + e.getMessage(), e);
        }
        SocketChannel channel = null;
        try {
            channel = connect(process, path, log);
            // Room for a burst of full frames each way. Setting an option also loads the JDK's socket-option
            // library (libextnet) now, before the system-call filter, which would refuse it later.
            channel.setOption(java.net.StandardSocketOptions.SO_SNDBUF, 1 << 20);
            channel.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 1 << 20);
            return new PasstNetwork(server(directory.resolve("passt.pid"), process, log), directory, channel,
                    warnings);
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                try {
                    channel.close(); // passt, a one-off server, ends when its one client goes
                } catch (IOException closing) {
                    // it ends with this process anyway
                }
            }
            process.destroyForcibly();
            deleteQuietly(directory);
            throw e instanceof RuntimeException r ? r
                    : new VmmException("--net user: passt's socket: " + e.getMessage(), e);
        }
    }

    /** The serving passt process, from the PID file it writes around the time its socket opens. */
    private static ProcessHandle server(Path pidFile, Process started, Path log) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_LIMIT_MS);
        while (true) {
            try {
                String text = Files.readString(pidFile).strip();
                if (text.matches("[0-9]+")) {
                    return ProcessHandle.of(Long.parseLong(text)).orElseThrow(() -> new VmmException(
                            "--net user: passt's process " + text + " is gone"));
                }
            } catch (IOException e) {
                // not written yet
            }
            if (System.nanoTime() > deadline) {
                throw new VmmException("--net user: passt wrote no PID file in " + START_LIMIT_MS / 1000 + " s: "
                        + firstLines(started, log));
            }
            pause(10);
        }
    }

    /** passt's command line: foreground, IPv4, one client, fixed addresses, MTU 1500, and the forwards. */
    static List<String> command(String program, Path socket, MachineConfig.UserNetwork network) {
        List<String> command = new ArrayList<>(List.of(program, "--foreground", "--stderr", "--quiet",
                "--one-off", "--ipv4-only", "--socket", socket.toString(), "--address", GUEST_ADDRESS,
                "--netmask", Integer.toString(PREFIX), "--gateway", GATEWAY, "--mtu", "1500",
                "--pid", socket.resolveSibling("passt.pid").toString()));
        for (MachineConfig.PortForward forward : network.publish()) {
            command.addAll(List.of("--tcp-ports", forward.host() + ":" + forward.guest()));
        }
        return command;
    }

    private static SocketChannel connect(Process process, Path path, Path log) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_LIMIT_MS);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (Files.exists(path)) {
                try {
                    return SocketChannel.open(UnixDomainSocketAddress.of(path));
                } catch (IOException e) {
                    last = e; // bound but not yet listening: try again
                }
            }
            // Status 0 is the starting process handing over to its namespaced child; anything else is an error.
            if (!process.isAlive() && process.exitValue() != 0) {
                throw new VmmException("--net user: passt could not start (status " + process.exitValue() + "): "
                        + firstLines(process, log));
            }
            pause(20);
        }
        throw new VmmException("--net user: passt did not open its socket within " + START_LIMIT_MS / 1000 + " s"
                + (last == null ? "" : " (" + last.getMessage() + ")") + ": " + firstLines(process, log));
    }

    /** A short wait while passt starts; an interrupt ends the start. */
    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("--net user: interrupted while passt started");
        }
    }

    /**
     * What passt said, on one line (from its {@code log}): its error, without the advice for QEMU users it prints on
     * success and its notes on syslog and on dropping root. A log still empty when passt's exit is seen (a
     * process of passt's that writes later) is read again for up to a second.
     */
    private static String firstLines(Process process, Path log) {
        List<String> lines = List.of();
        String text = "";
        try {
            process.waitFor(500, TimeUnit.MILLISECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (true) {
                text = readQuietly(log);
                lines = text.lines().map(String::strip).filter(line -> !line.isEmpty()
                        && !line.startsWith("Failed to send") && !line.contains("syslog")
                        && !line.startsWith("Don't run as root")).limit(3).toList();
                if (!lines.isEmpty() || System.nanoTime() > deadline) {
                    break;
                }
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (lines.isEmpty()) {
            return "it said nothing";
        }
        // passt copies its view of the network from the interface of the host's default route, and needs one.
        return String.join("; ", lines) + (text.contains("routable interface")
                ? " (passt needs a host interface with a default route: docs/network.md)" : "");
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException | java.io.UncheckedIOException e) {
            return ""; // not written yet, or not text: nothing to show
        }
    }

    @Override
    public void start(VirtioNet device, Object lock, Consumer<Throwable> failed) {
        startReceiving(new Receiver() {
            @Override
            public boolean canReceive() {
                synchronized (lock) {
                    return device.canReceive();
                }
            }

            @Override
            public boolean receive(byte[] frame, int length) {
                synchronized (lock) {
                    return device.receiveInBurst(frame, length);
                }
            }

            @Override
            public void endBurst() {
                synchronized (lock) {
                    device.endBurst();
                }
            }
        }, failed);
    }

    /** Starts the receive thread on {@code receiver}. */
    void startReceiving(Receiver receiver, Consumer<Throwable> failed) {
        thread = Thread.ofPlatform().name("net-rx-passt").daemon().start(() -> {
            try {
                receiveLoop(receiver);
            } catch (Throwable e) {
                failed.accept(e);
            }
        });
    }

    private void receiveLoop(Receiver receiver) throws InterruptedException {
        byte[] frame = new byte[VirtioNet.MAX_FRAME];
        // What passt sent and this loop has not taken yet (read mode): frames are cut from it, refilled as needed.
        ByteBuffer in = ByteBuffer.allocate(1 << 18).flip();
        int inBurst = 0;
        while (!stopping) {
            int length;
            try {
                if (!fill(in, 4)) {
                    passtGone("closed its socket");
                    return;
                }
                length = in.getInt(in.position());
                if (length <= 0 || length > frame.length) {
                    passtGone("sent a frame of " + length + " bytes (at most " + frame.length + ")");
                    return;
                }
                if (!fill(in, 4 + length)) {
                    passtGone("closed its socket");
                    return;
                }
            } catch (ClosedChannelException e) {
                return; // close(): the VM is ending
            } catch (IOException e) {
                passtGone("failed: " + e.getMessage());
                return;
            }
            in.getInt();
            in.get(frame, 0, length);
            // Held until the guest has room for it: a buffer, or with mergeable buffers enough of them.
            while (!receiver.canReceive() || !receiver.receive(frame, length)) {
                if (inBurst > 0) {
                    receiver.endBurst();
                    inBurst = 0;
                }
                buffersPosted.tryAcquire(100, TimeUnit.MILLISECONDS);
                if (stopping) {
                    return;
                }
            }
            inBurst++;
            // The driver is notified once per burst: when no further frame is already here, or after BURST.
            if (inBurst >= BURST || in.remaining() < 4) {
                receiver.endBurst();
                inBurst = 0;
            }
        }
    }

    /** Reads until {@code in} holds {@code bytes}; false at end of stream. */
    private boolean fill(ByteBuffer in, int bytes) throws IOException {
        while (in.remaining() < bytes) {
            in.compact();
            int read = socket.read(in);
            in.flip();
            if (read < 0) {
                return false;
            }
        }
        return true;
    }

    /** passt went away while the VM runs: one line, and the guest goes on without a network. */
    private void passtGone(String how) {
        if (stopping) {
            return;
        }
        warnings.accept("--net user: passt " + how + "; the guest's network is down, the VM goes on");
    }

    /**
     * One permit at most, however many notifications come: every receive-queue notification calls this, and the
     * thread takes a permit only while it holds a frame, so a counting wake-up would pile up permits (its wait would
     * then spin through them, and past 2^31 the semaphore throws on the notifying thread).
     */
    @Override
    public void wake() {
        if (buffersPosted.availablePermits() == 0) {
            buffersPosted.release();
        }
    }

    @Override
    public void transmit(byte[] frame, int offset, int length) throws IOException {
        synchronized (sendLock) {
            sendBuffer.clear();
            sendBuffer.putInt(length).put(frame, offset, length).flip();
            while (sendBuffer.hasRemaining()) {
                socket.write(sendBuffer);
            }
        }
    }

    /** Wake-ups waiting for the receive thread; for tests. */
    int wakePermits() {
        return buffersPosted.availablePermits();
    }

    @Override
    public String name() {
        return "passt";
    }

    /** passt takes frames of at most 65,535 bytes (tap.c, ETH_MAX_MTU) and ends its connection on a longer one. */
    @Override
    public int maxFrame() {
        return 65_535;
    }

    /** The serving passt process, for tests that end it early. */
    ProcessHandle process() {
        return passt;
    }

    /** The receive thread, for tests that wait for its end. */
    Thread receiveThread() {
        return thread;
    }

    /**
     * shutdown(SHUT_WR): a writer blocked in {@link #transmit} because passt stopped reading (its socket buffer
     * full) gets EPIPE at once; the JDK wakes it with a signal, as for {@code shutdownInput} below. passt, a one-off
     * server, then sees the end of its input and ends: the VM is ending, so that is not reported.
     */
    @Override
    public void stopSending() {
        stopping = true;
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            // already shut or closed: no writer is blocked in it
        }
    }

    @Override
    public void close() {
        stopping = true;
        stopSending();
        buffersPosted.release();
        // shutdown(SHUT_RD) ends the receive thread's blocked read with an end of file. Closing the channel alone
        // would not under the system-call filter: the JDK wakes a blocked reader by dup2-ing a dead socket over
        // the descriptor, a call the filter refuses (the VM then never ended; found in the lab).
        try {
            socket.shutdownInput();
        } catch (IOException e) {
            // already shut or closed: the reader is not blocked in it
        }
        Joins.joinUninterruptibly(thread);
        try {
            socket.close(); // passt, a one-off server, ends when its client goes
        } catch (IOException e) {
            // closing anyway
        }
        try {
            passt.onExit().get(2, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            passt.destroy(); // SIGTERM; refused (harmlessly) under the system-call filter
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deleteQuietly(directory);
    }

    private static void deleteQuietly(Path directory) {
        try (var entries = Files.list(directory)) {
            for (Path entry : entries.toList()) {
                Files.deleteIfExists(entry);
            }
            Files.deleteIfExists(directory);
        } catch (IOException e) {
            // a temporary directory left behind; nothing depends on it
        }
    }
}
