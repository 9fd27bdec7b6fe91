package dev.panavisor.compare;

import dev.panavisor.host.FileTree;
import dev.panavisor.host.IoErrors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.function.Function;

/**
 * What {@code bench compare} has made on the host and must undo even when the JVM is stopped mid-run (SIGTERM,
 * Ctrl-C): idle instances, container state, the network links and their servers, temporary directories. Without it
 * a stopped run left {@code sleep 1000000} containers and VMs, busybox httpd servers, the TAP and the namespace (whose
 * fixed names then failed every later run's network rows) and /tmp/pvcmp-* behind.
 *
 * <p>The mechanism is the one the lab's session and the host terminal use: a JVM shutdown hook added when the run
 * starts and removed when it ends ({@link #close()}), so a run that ends normally leaves nothing for the JVM's exit to
 * do (the CLI ends with {@code Runtime.halt}, which runs no hook). Here it is one hook for the whole run, which undoes
 * what is still registered, newest first; each owner still undoes its own things on its normal path and then
 * {@link #forget}s them. Each undo must be quiet (a hook that writes to a stderr nobody reads would hold the JVM's
 * exit) and safe to run twice and from another thread, since the main thread goes on while the hook runs.
 */
public final class ExitCleanup implements AutoCloseable {
    /** What the measurement sees of a stop that has begun. */
    static final String EXITING = "stopping: this process is exiting (Ctrl-C or SIGTERM)";

    /** Makes something the hook must be able to undo; see {@link #make}. */
    @FunctionalInterface
    public interface Maker<T> {
        T make() throws IOException, InterruptedException;
    }

    private final Thread hook;
    /** What is made and not yet undone, oldest first; guarded by this. */
    private final SequencedMap<Object, Runnable> made = new LinkedHashMap<>();
    private boolean exiting;

    private ExitCleanup(boolean withHook) {
        this.hook = withHook ? Thread.ofPlatform().name("pvcmp-exit-cleanup").unstarted(this::undoAll) : null;
    }

    /** Cleanup with the JVM shutdown hook in place, for a run. */
    public static ExitCleanup install() {
        ExitCleanup cleanup = new ExitCleanup(true);
        Runtime.getRuntime().addShutdownHook(cleanup.hook);
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
     */
    public <T> T make(Maker<T> maker, Function<T, Runnable> undo) throws IOException, InterruptedException {
        synchronized (this) {
            if (exiting) {
                throw new InterruptedException(EXITING);
            }
            T thing = maker.make();
            made.put(thing, undo.apply(thing));
            return thing;
        }
    }

    /** A temporary directory, made and registered at once (the hook deletes it with what is in it). */
    public Path temporaryDirectory(String prefix) throws IOException, InterruptedException {
        return make(() -> Files.createTempDirectory(prefix), dir -> () -> FileTree.deleteQuietly(dir));
    }

    /**
     * Deletes a directory made by {@link #temporaryDirectory} and forgets it; a failure (a file a container left
     * that cannot be removed) is one line to warn with, never an exception that would hide how the run ended.
     */
    public Optional<String> delete(Path dir) {
        try {
            FileTree.delete(dir);
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("cannot remove the temporary directory " + dir + ": " + IoErrors.describe(e));
        } finally {
            forget(dir);
        }
    }

    /** Its owner has undone {@code thing} itself: the hook leaves it alone. */
    public void forget(Object thing) {
        synchronized (this) {
            made.remove(thing);
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
     * The hook's work: refuses anything new, then undoes what is registered, newest first (the instances before
     * the links they use, the directories last). The undos run outside the lock, so an owner undoing the same
     * thing on the main thread is waited for by that thing's own lock, not by this one.
     */
    void undoAll() {
        undo(true);
    }

    private void undo(boolean stop) {
        List<Runnable> undos;
        synchronized (this) {
            exiting |= stop;
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

    /**
     * The run is over: whatever an owner did not undo is undone now (quietly), and the hook is removed, so the
     * JVM's exit has nothing left to do.
     */
    @Override
    public void close() {
        undo(false);
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is shutting down; the hook is running or has run.
            }
        }
    }
}
