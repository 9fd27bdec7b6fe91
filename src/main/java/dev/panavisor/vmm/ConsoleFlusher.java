package dev.panavisor.vmm;

import java.io.IOException;
import java.time.Duration;

/**
 * The thread that shows the guest console: devices write into {@link ConsoleWatcher}'s buffer
 * ({@link ConsoleOutput}) from the thread that served the exit, and this thread writes what has accumulated to the
 * user's terminal: it sleeps until the first byte arrives, lets {@link #PERIOD_MILLIS} ms of output gather (less when
 * a writer flushes), and writes it, outside the buffer's lock. A write(2) per byte on the vCPU thread cost more than
 * the exit that carried the byte (docs/performance.md, "Consoles"); an idle console costs nothing; and a reader that
 * stops reading holds this thread, not the vCPUs, until the buffer is full. {@link CommandStreams} runs one for each
 * of a command's output streams the same way.
 */
final class ConsoleFlusher implements AutoCloseable {
    /** Often enough that typing echoes at once to a human, rarely enough to cost nothing. */
    static final long PERIOD_MILLIS = 10;
    /** How long {@link #close()} waits for the last output to be taken. */
    static final Duration CLOSE_LIMIT = Duration.ofSeconds(10);

    private final ConsoleOutput console;
    /** Told of a write to the user's stream that failed (on this thread); the output is dropped from then on. */
    private final java.util.function.Consumer<IOException> failed;
    private final Thread thread;
    private volatile boolean closed;
    /** {@link #finish} was called (by the closing thread only). */
    private boolean finishing;

    private ConsoleFlusher(String name, ConsoleOutput console, java.util.function.Consumer<IOException> failed) {
        this.console = console;
        this.failed = failed;
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
    }

    static ConsoleFlusher start(ConsoleWatcher console) {
        return start("console-flush", console.output(), error -> { });
    }

    /** A flusher for {@code output} on a thread called {@code name}; {@code failed} is told of a failed write. */
    static ConsoleFlusher start(String name, ConsoleOutput output, java.util.function.Consumer<IOException> failed) {
        ConsoleFlusher flusher = new ConsoleFlusher(name, output, failed);
        output.flushedBy(true);
        flusher.thread.start();
        return flusher;
    }

    private void loop() {
        try {
            while (!closed) {
                try {
                    console.awaitBytes();
                    console.gather(PERIOD_MILLIS);
                } catch (InterruptedException e) {
                    break; // not asked for: show what is left, below, and end
                }
                try {
                    console.drain();
                } catch (IOException e) {
                    // The user's side is gone (a closed pipe): nothing more can be shown; the VM runs on, unless told.
                    failed.accept(e);
                }
            }
            try {
                console.drainAll();
            } catch (IOException e) {
                failed.accept(e);
            }
        } finally {
            // However this thread ends (an unchecked exception from the user's stream included), a device that finds
            // the buffer full no longer waits for it: it writes the buffer out itself, and meets the same failure
            // there, on its own thread, where the VM reports it, rather than wait for a flusher that is gone.
            console.flushedBy(false);
        }
    }

    /** Shows everything buffered, on the calling thread: a VM whose flusher never started, at its end. */
    static void flushAll(ConsoleWatcher console) {
        try {
            console.flush();
        } catch (IOException e) {
            // The user's side of the console is gone: nothing more can be shown.
        }
    }

    /**
     * Has the thread show everything buffered and end, once nothing prints any more (the vCPUs have stopped), and
     * waits for it: without a limit when {@code limit} is null, since a reader that reads slowly (a pager) should
     * get every byte, as from any program writing to a pipe; at most {@code limit} otherwise (a stop the user asked
     * for: a reader that stopped reading must not hold the VMM's end, as it would not hold a killed program's).
     * The thread alone writes, so the caller is never the one blocked in a write the reader does not take. Returns
     * whether everything was shown.
     */
    boolean finish(Duration limit) {
        finishing = true;
        closed = true;
        console.endWaits();
        boolean ended = true;
        if (limit == null) {
            Joins.joinUninterruptibly(thread);
        } else {
            ended = Joins.joinWithin(thread, limit.toMillis());
        }
        if (ended) {
            console.flushedBy(false);
        }
        return ended;
    }

    /**
     * {@link #finish} within {@link #CLOSE_LIMIT}, for a VM closed without its run's end (a failure half-way);
     * nothing after a finish (that one has waited as long as it should).
     */
    @Override
    public void close() {
        if (!finishing) {
            finish(CLOSE_LIMIT);
        }
    }
}
