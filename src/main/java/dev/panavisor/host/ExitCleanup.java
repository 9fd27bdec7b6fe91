package dev.panavisor.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.Set;
import java.util.function.Function;

/**
 * What a benchmark has made on the host and must undo even when the JVM is stopped part-way (SIGTERM, Ctrl-C): the
 * VMMs and instances it started with everything they started in turn (serve's standby VM process), container state,
 * {@code bench compare}'s network links and their servers, temporary files and directories (bench io's disk image
 * can be GiBs). Without it a stopped run left {@code sleep 1000000} containers and VMs, busybox httpd servers, the
 * TAP and the namespace (whose fixed names then failed every later run's network rows) and /tmp files behind.
 *
 * <p>The mechanism is the one the lab's session and the host terminal use: a JVM shutdown hook added by
 * {@link #install()} and removed by {@link #close()}, so a run that ends normally leaves nothing for the JVM's exit
 * to do (the CLI ends with {@code Runtime.halt}, which runs no hook). The hook undoes what is still registered,
 * newest first; an owner may undo its own things on its normal path and then {@link #forget} them. Each undo must be
 * quiet (a hook that writes to a stderr nobody reads would hold the JVM's exit) and safe to run twice and from
 * another thread, since the main thread goes on while the hook runs.
 *
 * <p>Once the stop has begun nothing new is made: registering throws {@link InterruptedException}, a checked
 * exception, so that no "go on with the next row" handler for runtime failures can swallow the stop.
 *
 * <p>Processes are not started under {@code setpriv --pdeathsig KILL} as the lab's QEMU is: that would put a second
 * program into every measured command (QEMU's boot time is its process's wall time), and a SIGKILL of this JVM is the
 * one case the hook cannot cover.
 */
public final class ExitCleanup implements AutoCloseable {
    /** What a registration refused because the stop has begun says. */
    public static final String EXITING = "stopped: this process is exiting (Ctrl-C or SIGTERM)";

    /** Makes something the hook must be able to undo; see {@link #make}. */
    @FunctionalInterface
    public interface Maker<T> {
        T make() throws IOException, InterruptedException;
    }

    private final Thread hook;
    /** What is made and not yet undone, oldest first; guarded by this. */
    private final SequencedMap<Object, Runnable> made = new LinkedHashMap<>();
    /**
     * The temporary paths, kept after the hook has deleted them until {@link #close()}: one its owner was writing
     * again meanwhile is deleted again when the owner next registers something (and is refused), or closes this.
     * Guarded by this.
     */
    private final Set<Path> paths = new LinkedHashSet<>();
    private boolean exiting;
    private boolean closed;

    private ExitCleanup(boolean withHook) {
        this.hook = withHook ? Thread.ofPlatform().name("exit-cleanup").unstarted(this::undoAll) : null;
    }

    /**
     * Cleanup with the JVM shutdown hook in place, for a run. When the JVM's exit has begun already no hook can be
     * added: the cleanup is then stopped from the start, and refuses the first thing the run would make.
     */
    public static ExitCleanup install() {
        ExitCleanup cleanup = new ExitCleanup(true);
        try {
            Runtime.getRuntime().addShutdownHook(cleanup.hook);
        } catch (IllegalStateException e) {
            cleanup.exiting = true; // not yet shared with any other thread
        }
        return cleanup;
    }

    /** Cleanup without a hook, for tests, which call {@link #undoAll()} to play the JVM's exit. */
    static ExitCleanup withoutHook() {
        return new ExitCleanup(false);
    }

    /**
     * Makes something and registers its undo as one step: the hook sees both or neither, so no signal can fall
     * between a process's start (or a link's creation) and its registration. Refused once the stop has begun.
     *
     * @throws InterruptedException when this process is exiting: nothing is made then
     * @throws IllegalStateException after {@link #close()}, when nothing would undo it any more
     */
    public <T> T make(Maker<T> maker, Function<T, Runnable> undo) throws IOException, InterruptedException {
        synchronized (this) {
            if (!exiting && !closed) {
                T thing = maker.make();
                made.put(thing, undo.apply(thing));
                return thing;
            }
        }
        throw refusal();
    }

    /**
     * Starts {@code builder}'s process, stopped with everything it starts ({@link ProcessTree#stop(Process)}) when
     * this closes or the JVM exits, unless it has ended by then.
     */
    public Process start(ProcessBuilder builder) throws IOException, InterruptedException {
        return make(builder::start, process -> () -> ProcessTree.stop(process));
    }

    /** A temporary directory, made and registered at once (deleted with what is in it). */
    public Path temporaryDirectory(String prefix) throws IOException, InterruptedException {
        return temporary(() -> Files.createTempDirectory(prefix));
    }

    /** A temporary file, made and registered at once. */
    public Path temporaryFile(String prefix, String suffix) throws IOException, InterruptedException {
        return temporary(() -> Files.createTempFile(prefix, suffix));
    }

    private Path temporary(Maker<Path> maker) throws IOException, InterruptedException {
        return make(() -> {
            Path path = maker.make();
            paths.add(path); // under the lock make holds
            return path;
        }, path -> () -> FileTree.deleteQuietly(path));
    }

    /**
     * Deletes a path made by {@link #temporaryDirectory} or {@link #temporaryFile} and forgets it; a failure (a file
     * a container left that cannot be removed) is one line to warn with, never an exception that would hide how the
     * run ended.
     */
    public Optional<String> delete(Path path) {
        try {
            FileTree.delete(path);
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("cannot remove the temporary " + (Files.isDirectory(path) ? "directory " : "file ")
                    + path + ": " + IoErrors.describe(e));
        } finally {
            forget(path);
        }
    }

    /** Its owner has undone {@code thing} itself: the hook leaves it alone. */
    public void forget(Object thing) {
        synchronized (this) {
            made.remove(thing);
            paths.remove(thing);
        }
    }

    /** Refuses to go on once the stop has begun: what it cut short is no run's results. */
    public void checkNotExiting() throws InterruptedException {
        if (exiting()) {
            throw new InterruptedException(EXITING);
        }
    }

    /** Whether the stop has begun. */
    public synchronized boolean exiting() {
        return exiting;
    }

    /**
     * Why nothing new is made. The temporary paths are deleted (again) first: the hook deleted them while their
     * owners went on, and one may have been written again since.
     */
    private InterruptedException refusal() {
        deleteTemporaryPaths();
        if (!exiting()) {
            throw new IllegalStateException("registered after this cleanup was closed: nothing would undo it");
        }
        return new InterruptedException(EXITING);
    }

    /**
     * The hook's work: refuses anything new, then undoes what is registered, newest first (a process before the
     * files it writes, the instances before the links they use, a run's directories last). The undos run outside
     * the lock, so an owner undoing the same thing on the main thread is waited for by that thing's own lock, not by
     * this one.
     */
    void undoAll() {
        undo(true);
    }

    private void undo(boolean stop) {
        List<Runnable> undos;
        synchronized (this) {
            exiting |= stop;
            closed |= !stop;
            undos = new ArrayList<>(made.sequencedValues().reversed());
            made.clear();
        }
        for (Runnable undo : undos) {
            try {
                undo.run();
            } catch (RuntimeException e) {
                // Best effort: one undo that fails must not keep the others from running.
            }
        }
    }

    private void deleteTemporaryPaths() {
        List<Path> deleting;
        synchronized (this) {
            deleting = List.copyOf(paths);
        }
        deleting.forEach(FileTree::deleteQuietly);
    }

    /**
     * The run is over: whatever an owner did not undo is undone now (quietly), the temporary paths are deleted, and
     * the hook is removed, so the JVM's exit has nothing left to do.
     */
    @Override
    public void close() {
        undo(false);
        deleteTemporaryPaths();
        synchronized (this) {
            paths.clear();
        }
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is shutting down; the hook is running or has run.
            }
        }
    }
}
