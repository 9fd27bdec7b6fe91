package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.vsock.VirtioVsock;
import dev.panavisor.devices.virtio.vsock.VsockHost;
import dev.panavisor.devices.virtio.vsock.VsockStream;
import dev.panavisor.sys.FileType;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The host side of the vsock device: UNIX sockets, the way Firecracker's vsock exposes a guest (docs/network.md,
 * "virtio-vsock"). The guest connecting to host port P reaches whatever listens on {@code PATH_P}; a host program
 * connecting to {@code PATH} and sending {@code CONNECT P\n} reaches the guest's listener on port P, after an
 * {@code OK <hostport>\n} line.
 *
 * <p>One thread with one {@link Selector} serves every socket, so host I/O never runs on a vCPU thread and a slow
 * host program stalls only its own connection: it accepts on {@code PATH}, reads each new connection's
 * {@code CONNECT} line a byte at a time (no byte of the data that follows is taken by mistake), and tells the
 * device, under the device's lock, when a connection's socket is ready for what the device waits for
 * ({@link VsockStream#want}). Every socket is non-blocking, the connect to {@code PATH_P} included: it runs under the
 * device's lock, and a blocking connect to a listener whose backlog is full would wait, with no limit, for that
 * program to accept (Linux's {@code unix_wait_for_peer}), holding up the vCPUs that touch the device meanwhile.
 * Non-blocking, a full backlog fails at once (EAGAIN), and the guest's REQUEST gets a RST, as for a port nobody
 * listens on.
 *
 * <p>A host program's handshake has a deadline ({@link #HANDSHAKE_NANOS}): its {@code CONNECT} line must have come
 * by then, and the guest must have accepted the connection it asked for, or its socket is closed (and the guest's
 * half of the connection reset). Without one, a program that never finishes its line, or a guest that never
 * answers, would hold a socket (and a connection of the device's limit) for the VM's whole life. At most
 * {@link #MAX_PENDING_LINES} connections may be sending their line at once; more are closed at once.
 */
final class VsockSockets implements VsockHost, AutoCloseable {
    /** The longest CONNECT line taken: "CONNECT 4294967295\n" is 19 bytes. */
    static final int MAX_LINE = 32;
    /**
     * How long a host program has to send its CONNECT line, and then the guest to accept: 5 s, where Firecracker
     * gives 2, since a guest in the nested lab can stall for a second (docs/lab.md).
     */
    static final long HANDSHAKE_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** Connections still sending their CONNECT line, at most; a local program cannot queue more. */
    static final int MAX_PENDING_LINES = 64;
    /**
     * How long accepting pauses after an accept failed, as event-loop servers do: with no descriptor left (EMFILE)
     * the connection stays in the listener's backlog, the selector reports it again at once, and the thread would
     * spin on it for as long as the descriptors stay used.
     */
    static final long ACCEPT_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** The accept(2) of the listener; a test puts a failing one in its place. */
    interface Acceptor {
        SocketChannel accept(ServerSocketChannel listener) throws IOException;
    }

    private final Path path;
    private final Selector selector;
    private final ServerSocketChannel listener;
    private final SelectionKey listening;
    private final Thread thread;
    private final long handshakeNanos;
    /** Handshakes in the order they began, so in the order of their deadlines (all are as long). Poller only. */
    private final ArrayDeque<Handshake> handshakes = new ArrayDeque<>();
    private int pendingLines;
    /** Accepting pauses after a failed accept, until {@link #acceptResumes} (System.nanoTime). Poller only. */
    private boolean acceptPaused;
    private long acceptResumes;
    volatile Acceptor acceptor = ServerSocketChannel::accept;
    private volatile boolean stopping;
    private VirtioVsock device;
    private Object lock;

    private VsockSockets(Path path, Selector selector, ServerSocketChannel listener, SelectionKey listening,
            long handshakeNanos) {
        this.path = path;
        this.selector = selector;
        this.listener = listener;
        this.listening = listening;
        this.handshakeNanos = handshakeNanos;
        this.thread = Thread.ofPlatform().name("vsock-host").daemon().unstarted(this::serve);
    }

    /**
     * Listens on {@code path}: its directory must exist and be writable; a socket left there by an earlier run is
     * replaced, anything else there is an error.
     */
    static VsockSockets open(Path path) {
        return open(path, HANDSHAKE_NANOS);
    }

    /** {@link #open(Path)} with another handshake deadline (tests). */
    static VsockSockets open(Path path, long handshakeNanos) {
        check(path);
        try {
            Files.delete(path); // a stale socket of an earlier run (check: whatever is there is a socket)
        } catch (java.nio.file.NoSuchFileException e) {
            // the usual case
        } catch (IOException e) {
            throw new VmmException("--vsock: cannot replace " + path + ": " + e.getMessage(), e);
        }
        Selector selector = null;
        ServerSocketChannel listener = null;
        try {
            selector = Selector.open();
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(path));
            listener.configureBlocking(false);
            SelectionKey listening = listener.register(selector, SelectionKey.OP_ACCEPT);
            return new VsockSockets(path, selector, listener, listening, handshakeNanos);
        } catch (IOException | RuntimeException e) {
            closeQuietly(listener);
            closeQuietly(selector);
            throw new VmmException("--vsock: cannot listen on " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * What can be checked before the VM exists: the socket's directory exists and is writable, the path fits in a
     * UNIX socket address ({@code sun_path}, unix(7): 108 bytes with the closing NUL), and nothing but a socket (an
     * earlier run's, replaced at start) is there already.
     */
    static void check(Path path) {
        check(path, "--vsock");
    }

    /** {@link #check(Path)}, its errors naming the setting as {@code name} ({@code vsock.uds_path} in the API). */
    static void check(Path path, String name) {
        Path directory = path.toAbsolutePath().getParent();
        if (directory == null || !Files.isDirectory(directory)) {
            throw new VmmException(name + ": the directory of " + path + " does not exist");
        }
        if (!Files.isWritable(directory)) {
            throw new VmmException(name + ": cannot create a socket in " + directory + " (not writable)");
        }
        // The absolute path: the one a run inside the nested lab is given.
        int length = path.toAbsolutePath().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (length > MAX_PATH_BYTES) {
            throw new VmmException(name + ": the socket path " + path.toAbsolutePath() + " is " + length + " bytes "
                    + "long; a UNIX socket path holds at most " + MAX_PATH_BYTES);
        }
        try {
            if (FileType.of(path) != FileType.SOCKET) { // only a socket (an earlier run's) may be replaced
                throw new VmmException(name + ": " + path + " exists and is not a socket");
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // the usual case
        } catch (IOException e) {
            throw new VmmException(name + ": cannot look at " + path + ": " + e.getMessage(), e);
        }
    }

    /** The longest path a UNIX socket address holds: {@code sun_path}'s 108 bytes, less the closing NUL. */
    static final int MAX_PATH_BYTES = 107;

    /** The device to serve and the lock every call into it takes (its transport's); then {@link #start()}. */
    void attach(VirtioVsock device, Object lock) {
        this.device = device;
        this.lock = lock;
    }

    void start() {
        thread.start();
    }

    /** A guest connection to host port {@code port}: the socket {@code PATH_port}. */
    @Override
    public VsockStream connect(long port) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.configureBlocking(false);
            if (!channel.connect(UnixDomainSocketAddress.of(path + "_" + port))) {
                throw new IOException("the socket " + path + "_" + port + " is not accepting connections now");
            }
            UnixStream stream = new UnixStream(channel);
            stream.key = channel.register(selector, 0, stream);
            return stream;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e instanceof IOException io ? io : new IOException(e);
        }
    }

    private void serve() {
        while (!stopping) {
            try {
                long wait = resumeAccepting(endLateHandshakes());
                if (wait > 0) {
                    selector.select(wait);
                } else {
                    selector.select();
                }
            } catch (IOException | java.nio.channels.ClosedSelectorException e) {
                return;
            }
            for (SelectionKey key : selector.selectedKeys()) {
                if (!key.isValid()) {
                    continue;
                }
                switch (key.attachment()) {
                    case UnixStream stream -> {
                        synchronized (lock) {
                            device.hostReady(stream);
                        }
                    }
                    case ConnectLine line -> readLine(key, line);
                    case null -> accept();
                    default -> throw new IllegalStateException("unexpected key " + key.attachment());
                }
            }
            selector.selectedKeys().clear();
        }
    }

    /**
     * Watches the listener again once a pause after a failed accept is over; returns {@code wait} (milliseconds to
     * select for, 0 for no limit) shortened to the pause's end while one lasts.
     */
    private long resumeAccepting(long wait) {
        if (!acceptPaused) {
            return wait;
        }
        long left = acceptResumes - System.nanoTime();
        if (left <= 0) {
            acceptPaused = false;
            listening.interestOps(SelectionKey.OP_ACCEPT);
            return wait;
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(left) + 1;
        return wait > 0 ? Math.min(wait, millis) : millis;
    }

    private void accept() {
        try {
            SocketChannel channel = acceptor.accept(listener);
            if (channel == null) {
                return;
            }
            if (pendingLines >= MAX_PENDING_LINES) {
                closeQuietly(channel);
                return;
            }
            channel.configureBlocking(false);
            ConnectLine line = new ConnectLine();
            SelectionKey key = channel.register(selector, SelectionKey.OP_READ, line);
            pendingLines++;
            handshakes.add(new Handshake(System.nanoTime() + handshakeNanos, key, line));
        } catch (IOException e) {
            // No descriptor left (EMFILE, ENFILE), or the client went away between connect and accept: the listener
            // is left alone for a moment, so that a backlog it cannot take does not keep this thread spinning.
            listening.interestOps(0);
            acceptPaused = true;
            acceptResumes = System.nanoTime() + ACCEPT_PAUSE_NANOS;
        }
    }

    /**
     * Ends the handshakes past their deadline: a connection still sending its line is closed; one the guest has not
     * accepted yet is given up ({@link VirtioVsock#hostGaveUp}). Returns the milliseconds to the next deadline, or
     * 0 when none waits.
     */
    private long endLateHandshakes() {
        long now = System.nanoTime();
        Handshake next;
        while ((next = handshakes.peek()) != null && next.deadline() - now <= 0) {
            handshakes.poll();
            if (next.waitingFor() instanceof ConnectLine line) {
                if (next.key().isValid() && next.key().attachment() == line) {
                    endLine(next.key());
                }
            } else if (next.waitingFor() instanceof UnixStream stream) {
                synchronized (lock) {
                    device.hostGaveUp(stream);
                }
            }
        }
        return next == null ? 0 : TimeUnit.NANOSECONDS.toMillis(next.deadline() - now) + 1;
    }

    /** A connection that sent no CONNECT line, or a bad one, or none in time: closed, with no answer. */
    private void endLine(SelectionKey key) {
        pendingLines--;
        key.cancel();
        closeQuietly(key.channel());
    }

    /** Reads the {@code CONNECT P\n} line; a line that is not one closes the connection. */
    private void readLine(SelectionKey key, ConnectLine line) {
        SocketChannel channel = (SocketChannel) key.channel();
        ByteBuffer one = ByteBuffer.allocate(1);
        try {
            int n;
            while ((n = channel.read(one.clear())) == 1) {
                if (one.get(0) != '\n') {
                    if (line.text.length() == MAX_LINE) {
                        throw new IOException("line too long");
                    }
                    line.text.append((char) (one.get(0) & 0xff));
                    continue;
                }
                long port = parseConnect(line.text.toString());
                if (port < 0) {
                    throw new IOException("not a CONNECT line");
                }
                UnixStream stream = new UnixStream(channel);
                stream.key = key;
                key.interestOps(0);
                key.attach(stream);
                pendingLines--;
                synchronized (lock) {
                    device.hostConnect(stream, port);
                }
                handshakes.add(new Handshake(System.nanoTime() + handshakeNanos, key, stream));
                return;
            }
            if (n < 0) {
                throw new IOException("end of stream before the CONNECT line");
            }
        } catch (IOException e) {
            endLine(key);
        }
    }

    /** The port of {@code CONNECT <port>} (decimal, 0 to 2^32-1), or -1 for anything else. */
    static long parseConnect(String line) {
        String text = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
        if (!text.startsWith("CONNECT ")) {
            return -1;
        }
        String digits = text.substring("CONNECT ".length());
        if (digits.isEmpty() || digits.length() > 10 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        long port = Long.parseLong(digits);
        return port <= 0xffff_ffffL ? port : -1;
    }

    /** Stops the thread, closes every socket and removes {@code PATH} (when the confinement still allows it). */
    @Override
    public void close() {
        if (!selector.isOpen()) {
            return; // closed already (the assembly and the machine both own it on some paths)
        }
        stopping = true;
        selector.wakeup();
        if (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (SelectionKey key : selector.keys()) {
            closeQuietly(key.channel());
        }
        closeQuietly(selector);
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // Under the seccomp filter unlink is refused: the next run replaces the stale socket.
        }
    }

    private static void closeQuietly(java.io.Closeable closeable) {
        if (closeable != null) {
            try {
                closeable.close();
            } catch (IOException e) {
                // closing: nothing to do
            }
        }
    }

    /** A handshake's deadline, and what it waits for: its {@link ConnectLine}, or the guest's accept of a stream. */
    private record Handshake(long deadline, SelectionKey key, Object waitingFor) {
    }

    /** The bytes of a CONNECT line read so far. */
    private static final class ConnectLine {
        final StringBuilder text = new StringBuilder();
    }

    /** One connection's socket, as the device sees it. */
    private final class UnixStream implements VsockStream {
        private final SocketChannel channel;
        SelectionKey key;

        UnixStream(SocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public int read(ByteBuffer into) throws IOException {
            return channel.read(into);
        }

        @Override
        public int write(ByteBuffer from) throws IOException {
            return channel.write(from);
        }

        @Override
        public void shutdownOutput() throws IOException {
            channel.shutdownOutput();
        }

        @Override
        public void want(boolean readable, boolean writable) {
            try {
                key.interestOps((readable ? SelectionKey.OP_READ : 0) | (writable ? SelectionKey.OP_WRITE : 0));
            } catch (java.nio.channels.CancelledKeyException e) {
                return; // closed meanwhile
            }
            if (Thread.currentThread() != thread) {
                selector.wakeup(); // the poller is in select() with the old interest set
            }
        }

        /**
         * The JDK closes a registered channel's descriptor only when its selector deregisters the cancelled key, at
         * its next selection: from another thread (the device's worker, answering a guest RST) the selector must be
         * woken, or the host program would see no end of file until some other socket became ready.
         */
        @Override
        public void close() {
            key.cancel();
            closeQuietly(channel);
            if (Thread.currentThread() != thread) {
                selector.wakeup();
            }
        }
    }
}
