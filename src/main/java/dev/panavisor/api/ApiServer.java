package dev.panavisor.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * {@link ApiRoutes} on a UNIX domain socket, served by Jetty 12's unix-domain connector (the JDK's own AF_UNIX
 * channels, no native code). Jetty parses HTTP/1.1; this class only reads the body, bounded, and writes the reply.
 */
public final class ApiServer implements AutoCloseable {
    /** Firecracker's default limit on a request body (its --http-api-max-payload-size): 51200 bytes. */
    static final int MAX_BODY = 51_200;
    /**
     * How long a request's body may take to arrive, whole: Jetty's idle timeout (30 s) starts again with every byte,
     * so without it a client sending a byte now and then would hold one of the 8 handler threads for as long as it
     * liked, and a few such clients every one of them. A client on a local socket sends a body of 50 KiB at once.
     */
    static final long BODY_DEADLINE_MILLIS = 10_000;
    /** How long {@link #close()} waits for Jetty to stop ({@link #stopWithin}); it takes milliseconds when it can. */
    public static final long STOP_MILLIS = 5_000;

    static {
        // Jetty logs through SLF4J; with no provider on the class path SLF4J prints three warning lines on stderr at
        // its first use. Panavisor's own lines are its log, so Jetty's go nowhere: SLF4J's own no-op provider, and
        // SLF4J's reports about choosing it kept to errors.
        if (System.getProperty("slf4j.provider") == null) {
            System.setProperty("slf4j.provider", "org.slf4j.helpers.NOP_FallbackServiceProvider");
            System.setProperty("slf4j.internal.verbosity", "ERROR");
        }
    }

    private final Server server;
    private final Path socket;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final CountDownLatch stopDone = new CountDownLatch(1);

    private ApiServer(Server server, Path socket) {
        this.server = server;
        this.socket = socket;
    }

    /** Listens on {@code socket}, which must not exist yet (as in Firecracker: it is never silently replaced). */
    public static ApiServer start(Path socket, ApiRoutes routes) {
        return start(socket, routes, BODY_DEADLINE_MILLIS);
    }

    /** {@link #start(Path, ApiRoutes)} with another deadline for a request's body (tests). */
    static ApiServer start(Path socket, ApiRoutes routes, long bodyDeadlineMillis) {
        if (Files.exists(socket) || Files.isSymbolicLink(socket)) {
            throw new ApiException("API socket " + socket + " already exists; remove it or choose another path");
        }
        Path parent = socket.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new ApiException("cannot create API socket " + socket + ": " + parent + " is not a directory");
        }
        routes.servedOn(socket);
        QueuedThreadPool threads = new QueuedThreadPool(8, 2);
        threads.setName("api");
        threads.setDaemon(true);
        // Jetty's timer thread a daemon too (Jetty's default is not): if a stop is ever left behind (stopWithin),
        // nothing of Jetty's keeps the JVM alive.
        Server server = new Server(threads, new ScheduledExecutorScheduler("api-timer", true), null);
        UnixDomainServerConnector connector = new UnixDomainServerConnector(server);
        connector.setUnixDomainPath(socket);
        server.addConnector(connector);
        server.setErrorHandler(new FaultErrorHandler());
        server.setHandler(new RoutesHandler(routes, bodyDeadlineMillis));
        try {
            server.start();
            // The owner's alone, whatever the umask: whoever can connect can choose the kernel and the disks of a VM
            // that runs with this user's rights (Firecracker leaves it to the directory's permissions).
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (Exception e) {
            stopQuietly(server);
            throw new ApiException("cannot listen on API socket " + socket + ": " + e.getMessage(), e);
        }
        return new ApiServer(server, socket);
    }

    public Path socket() {
        return socket;
    }

    /**
     * Stops serving and removes the socket file; returns false when Jetty did not stop within {@link #STOP_MILLIS}
     * ({@link #stopWithin}). Only the first call stops (serve's shutdown hook and its main thread both call it); a
     * later one waits for the first to end, as long as the first may take, and returns true: a shutdown hook that
     * returned at once would let the JVM end in the middle of the first call, the socket file left behind.
     */
    public boolean stop() {
        if (stopped.getAndSet(true)) {
            try {
                stopDone.await(STOP_MILLIS + 1_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }
        try {
            boolean inTime = stopQuietly(server);
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                // The socket file stays behind; the next serve on this path says so.
            }
            return inTime;
        } finally {
            stopDone.countDown();
        }
    }

    /** {@link #stop()}, its answer dropped. */
    @Override
    public void close() {
        stop();
    }

    private static boolean stopQuietly(Server server) {
        return stopWithin(server::stop, STOP_MILLIS);
    }

    /** A step that stops something and may throw. */
    @FunctionalInterface
    interface Stop {
        void run() throws Exception;
    }

    /**
     * Runs {@code stop} on a daemon thread of its own and waits for it at most {@code millis}; returns whether it
     * ended in time. Stopping is best effort (the process is about to end, or the start already failed), so what
     * it throws, errors included, is dropped; what it must not do is hold the caller. Jetty 12.1.14's
     * {@code Server.stop()} can wait without end: seen once in this project's unit tests, its selector thread,
     * closing a connection whose response was still being sent, waited in {@code HttpConnection$SendCallback.cancel}
     * for that send, and the stopping thread waited in {@code ManagedSelector.doStop} for the selector (Jetty's
     * issue 12435 is about that close path). Left behind, Jetty's threads are daemons (its pool's and its timer's,
     * {@link #start}) and end with the process.
     */
    static boolean stopWithin(Stop stop, long millis) {
        Thread stopper = Thread.ofPlatform().daemon().name("api-stop").start(() -> {
            try {
                stop.run();
            } catch (Throwable e) { // an error of Jetty's while stopping must not end as a stack trace
                // best effort, as said
            }
        });
        try {
            stopper.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !stopper.isAlive();
    }

    /** One request: the body read (bounded), routed, the reply written. */
    private static final class RoutesHandler extends Handler.Abstract {
        private final ApiRoutes routes;
        private final long bodyDeadlineMillis;

        RoutesHandler(ApiRoutes routes, long bodyDeadlineMillis) {
            this.routes = routes;
            this.bodyDeadlineMillis = bodyDeadlineMillis;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            ApiRoutes.Reply reply;
            try {
                String body = readBody(request, bodyDeadlineMillis);
                reply = body == null ? ApiRoutes.Reply.fault(400, "the request body is larger than " + MAX_BODY
                        + " bytes") : routes.handle(request.getMethod(), request.getHttpURI().getPath(), body);
            } catch (CharacterCodingException e) {
                reply = ApiRoutes.Reply.fault(400, "the request body is not valid UTF-8");
            } catch (IOException e) { // the client stopped sending: the body's deadline or Jetty's idle timeout
                reply = ApiRoutes.Reply.fault(400, "the request body did not arrive whole: " + e.getMessage());
            }
            response.setStatus(reply.status());
            if (reply.json() == null) {
                response.write(true, ByteBuffer.allocate(0), callback);
            } else {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
                response.write(true, ByteBuffer.wrap(reply.json().getBytes(StandardCharsets.UTF_8)), callback);
            }
            return true;
        }

        /**
         * The body as text, or null when it is larger than {@link #MAX_BODY} (never read past that); an IOException
         * when it has not arrived whole within {@code deadlineMillis} (failing the request ends the blocking read).
         */
        private static String readBody(Request request, long deadlineMillis) throws IOException {
            if (request.getLength() > MAX_BODY) {
                return null;
            }
            // The task fails the request only while its body is still being read: cancelling does not stop a task
            // that has begun, and a late one must not fail the request's routing (or a next one's).
            boolean[] reading = {true};
            Scheduler.Task deadline = request.getComponents().getScheduler().schedule(() -> {
                synchronized (reading) {
                    if (reading[0]) {
                        request.fail(new TimeoutException("not all of it within " + deadlineMillis + " ms"));
                    }
                }
            }, deadlineMillis, TimeUnit.MILLISECONDS);
            try (InputStream in = Content.Source.asInputStream(request)) {
                byte[] bytes = in.readNBytes(MAX_BODY + 1);
                // Strictly: replacing a bad byte with U+FFFD would change a path or boot_args without a word.
                return bytes.length > MAX_BODY ? null : StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } finally {
                synchronized (reading) {
                    reading[0] = false;
                }
                deadline.cancel();
            }
        }
    }
}
