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

    private final Path directory;
    private final Path socket;
    private final ServerSocketChannel server;
    private final Process process;
    private final CompletableFuture<SocketChannel> ready = new CompletableFuture<>();
    private volatile boolean handedOff;

    private Standby(Path directory, ServerSocketChannel server, Process process) {
        this.directory = directory;
        this.socket = directory.resolve("standby.sock");
        this.server = server;
        this.process = process;
    }

    /**
     * Starts {@code javaCommand} + {@code standby --socket=...} with this process's stdin, stdout and stderr, and
     * tells {@code onReady} (once, on another thread) when it is warm.
     */
    static Standby start(List<String> javaCommand, Consumer<String> onReady) {
        Path directory = null;
        ServerSocketChannel server = null;
        try {
            directory = Files.createTempDirectory("panavisor-standby-"); // 0700 on POSIX file systems
            Path socket = directory.resolve("standby.sock");
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            List<String> command = new ArrayList<>(javaCommand);
            command.addAll(List.of("standby", "--socket=" + socket));
            Process process = new ProcessBuilder(command).inheritIO().start();
            Standby standby = new Standby(directory, server, process);
            standby.awaitReady(onReady);
            return standby;
        } catch (IOException e) {
            closeQuietly(server);
            deleteQuietly(directory);
            throw new VmmException("cannot start serve's standby VM process: " + e.getMessage(), e);
        }
    }

    private void awaitReady(Consumer<String> onReady) {
        process.onExit().thenRun(() -> ready.completeExceptionally(
                new IOException("the standby VM process ended with status " + process.exitValue())));
        Thread.ofPlatform().name("standby-accept").daemon().start(() -> {
            try {
                SocketChannel channel = server.accept();
                ByteBuffer greeting = ByteBuffer.allocate(1);
                if (channel.read(greeting) != 1 || greeting.get(0) != StandbyHandOff.READY) {
                    channel.close();
                    throw new IOException("the standby VM process did not say it was ready");
                }
                if (ready.complete(channel)) {
                    onReady.accept("the VM process is up and warm (pid " + process.pid() + ")");
                }
            } catch (IOException e) {
                ready.completeExceptionally(e);
            }
        });
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
        try (channel) {
            StandbyHandOff.write(channel, runArguments);
        }
        handedOff = true;
        cleanUp();
        return process;
    }

    /** The private directory of the hand-off socket (tests). */
    Path directory() {
        return directory;
    }

    /** The standby's process (tests). */
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
