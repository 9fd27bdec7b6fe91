package dev.panavisor.cli;

import dev.panavisor.vmm.VmmException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * serve's warm VM process: a {@code panavisor standby} started with serve, before any request, which is up and
 * ready by the time InstanceStart comes ({@link StandbyCommand}). They talk over a UNIX socket in a directory only
 * this user can enter (a fresh temporary directory, mode 0700), so no other user can hand the standby a command
 * line. One standby serves one VM, as one serve serves one VM.
 */
final class Standby implements AutoCloseable {
    /** How long InstanceStart waits for a standby that is still warming up (in the lab its JVM takes seconds). */
    private static final long READY_SECONDS = 180;
    /**
     * How long one message may take to go into the socket. A standby that stopped reading (stopped with SIGSTOP,
     * or stuck) would otherwise hold the API request that sends it, and every later one, in a blocked write under
     * this object's lock; after this its channel is closed, and InstanceStart starts a run of its own.
     */
    static final long WRITE_MILLIS = 10_000;

    /** Said (as a notice) each time the standby has built the VM of the configuration so far. */
    static final String BUILT = "the VM is built and waits for InstanceStart";
    /** Said when it has not: it could not be built yet, or runs go through the lab; InstanceStart builds it. */
    static final String NOT_BUILT = "the VM is not built ahead; InstanceStart will build it (and say why if it "
            + "cannot)";

    private final Path directory;
    private final Path socket;
    private final ServerSocketChannel server;
    private final Process process;
    private final long writeMillis;
    private final CompletableFuture<SocketChannel> ready = new CompletableFuture<>();
    private volatile boolean handedOff;
    /** The arguments of the last {@link #prepare}, sent again when the standby gets ready; guarded by this. */
    private List<String> prepared;
    /**
     * The Prepares sent and not answered yet, oldest first: the standby answers each, in order, with BUILT or
     * NOT_BUILT. Guarded by this.
     */
    private final java.util.ArrayDeque<List<String>> unanswered = new java.util.ArrayDeque<>();
    /** The arguments of the VM the standby has built and holds, when its answer came and nothing was sent since. */
    private List<String> built;

    private Standby(Path directory, ServerSocketChannel server, Process process, long writeMillis) {
        this.directory = directory;
        this.socket = directory.resolve("standby.sock");
        this.server = server;
        this.process = process;
        this.writeMillis = writeMillis;
    }

    /**
     * Starts {@code javaCommand} + {@code standby --socket=...} with this process's stdin, stdout and stderr, and
     * tells {@code notices} (on another thread) when it is warm, and then each time it has built a VM.
     */
    static Standby start(List<String> javaCommand, Consumer<String> notices) {
        return start(javaCommand, notices, WRITE_MILLIS);
    }

    /** As above, with another bound on each message's write (tests). */
    static Standby start(List<String> javaCommand, Consumer<String> notices, long writeMillis) {
        Path directory = null;
        Path socket = null;
        ServerSocketChannel server = null;
        try {
            directory = Files.createTempDirectory("panavisor-standby-"); // 0700 on POSIX file systems
            socket = directory.resolve("standby.sock");
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            List<String> command = new ArrayList<>(javaCommand);
            command.addAll(List.of("standby", "--socket=" + socket));
            Process process = new ProcessBuilder(command).inheritIO().start();
            Standby standby = new Standby(directory, server, process, writeMillis);
            standby.awaitReady(notices);
            return standby;
        } catch (IOException e) {
            closeQuietly(server);
            deleteQuietly(socket); // a bound socket's file stays after close, and the directory must be empty
            deleteQuietly(directory);
            throw new VmmException("cannot start serve's standby VM process: " + e.getMessage(), e);
        }
    }

    private void awaitReady(Consumer<String> notices) {
        process.onExit().thenRun(() -> ready.completeExceptionally(
                new IOException("the standby VM process ended with status " + process.exitValue())));
        Thread.ofPlatform().name("standby-accept").daemon().start(() -> {
            SocketChannel channel;
            try {
                channel = server.accept();
                if (heard(channel) != StandbyHandOff.READY) {
                    channel.close();
                    throw new IOException("the standby VM process did not say it was ready");
                }
            } catch (IOException e) {
                ready.completeExceptionally(e);
                return;
            }
            synchronized (this) {
                ready.complete(channel);
                notices.accept("the VM process is up and warm (pid " + process.pid() + ")");
                if (prepared != null) {
                    send(new StandbyHandOff.Message.Prepare(prepared));
                }
            }
            listen(channel, notices);
        });
    }

    /** What the standby says after it is ready: a VM built or not, until the hand-off closes the socket. */
    private void listen(SocketChannel channel, Consumer<String> notices) {
        boolean saidNotBuilt = false;
        try {
            while (true) {
                int said = heard(channel);
                if (said != StandbyHandOff.BUILT && said != StandbyHandOff.NOT_BUILT) {
                    return; // end of file, or not the standby speaking
                }
                synchronized (this) {
                    List<String> answered = unanswered.poll();
                    built = said == StandbyHandOff.BUILT && unanswered.isEmpty() ? answered : null;
                }
                // Each built VM is news; "not built" is said once until a VM is built, not after every request
                // that leaves the configuration unable to start (serve's user sends several before it can).
                boolean builtNow = said == StandbyHandOff.BUILT;
                if (builtNow || !saidNotBuilt) {
                    notices.accept(builtNow ? BUILT : NOT_BUILT);
                }
                saidNotBuilt = !builtNow;
            }
        } catch (IOException e) {
            // The hand-off closed the socket: nothing more to hear.
        }
    }

    /** The standby's next byte, or -1 at end of file. */
    private static int heard(SocketChannel channel) throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        return channel.read(one) == 1 ? one.get(0) : -1;
    }

    /**
     * Has the standby build the VM of {@code runArguments} now (the API's configuration is complete so far), so that
     * a start with the same arguments only starts its vCPUs. Sent when the standby is ready if it is not yet;
     * a later call replaces the VM. Never throws: a standby that cannot be told builds at the start instead.
     */
    synchronized void prepare(List<String> runArguments) {
        if (handedOff) {
            return;
        }
        prepared = List.copyOf(runArguments);
        if (ready.isDone() && !ready.isCompletedExceptionally()) {
            send(new StandbyHandOff.Message.Prepare(prepared));
        }
    }

    /**
     * Whether the standby holds a VM built from exactly {@code runArguments}: the files it names were read and
     * checked as it was built (as Firecracker opens them when they are PUT), so a start need not check them again.
     */
    synchronized boolean holdsBuilt(List<String> runArguments) {
        return runArguments.equals(built);
    }

    private void send(StandbyHandOff.Message.Prepare message) {
        built = null;
        unanswered.add(message.arguments());
        try {
            write(ready.join(), message);
        } catch (IOException e) {
            // The standby is gone, or stopped reading: the start will notice and start a run of its own.
        }
    }

    /** Writes {@code message}, or closes the channel if the write has not ended within the bound (then throws). */
    private void write(SocketChannel channel, StandbyHandOff.Message message) throws IOException {
        CompletableFuture<Void> bound = CompletableFuture.runAsync(() -> closeQuietly(channel),
                CompletableFuture.delayedExecutor(writeMillis, TimeUnit.MILLISECONDS, Runnable::run));
        try {
            StandbyHandOff.write(channel, message);
        } finally {
            bound.cancel(false);
        }
    }

    /**
     * Hands the standby its run arguments and returns its process, which is now that run; or throws when the
     * standby died or never got ready, and the caller starts a run of its own instead.
     */
    Process handOff(List<String> runArguments) throws IOException {
        SocketChannel channel;
        try {
            channel = ready.get(READY_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the standby VM process was not ready after " + READY_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the standby VM process", e);
        }
        synchronized (this) {
            try (channel) {
                write(channel, new StandbyHandOff.Message.Start(runArguments));
            }
            handedOff = true;
        }
        cleanUp();
        return process;
    }

    /** The private directory of the hand-off socket (tests). */
    Path directory() {
        return directory;
    }

    /** The standby's process: once handed off, the VM's (tests, and serve's stop while a start is under way). */
    Process process() {
        return process;
    }

    /** Ends a standby that never got its VM (serve is ending), and removes the socket and its directory. */
    @Override
    public void close() {
        if (!handedOff) {
            ready.thenAccept(Standby::closeQuietly); // end of file: the standby ends with status 0
            process.destroy();
        }
        cleanUp();
    }

    /** Waits, 10 s at most, for the process to end after {@link #close()}; kills it if it has not. */
    void awaitExit() {
        try {
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void cleanUp() {
        closeQuietly(server);
        deleteQuietly(socket);
        deleteQuietly(directory);
    }

    private static void closeQuietly(java.io.Closeable closeable) {
        if (closeable != null) {
            try {
                closeable.close();
            } catch (IOException ignored) {
                // Nothing left to do with it.
            }
        }
    }

    private static void deleteQuietly(Path path) {
        if (path != null) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // A temporary directory left behind is harmless.
            }
        }
    }
}
