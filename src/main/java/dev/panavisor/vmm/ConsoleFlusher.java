package dev.panavisor.vmm;

import java.io.IOException;

/**
 * The thread that shows the guest console: devices write into {@link ConsoleWatcher}'s buffer from the thread that
 * served the exit, and this thread writes what has accumulated to the user's terminal: it sleeps until the first
 * byte arrives, lets {@link #PERIOD_MILLIS} ms of output gather, and flushes. A write(2) per byte on the vCPU thread
 * cost more than the exit that carried the byte (docs/performance.md, "Consoles"); an idle console costs nothing.
 */
final class ConsoleFlusher implements AutoCloseable {
    /** Often enough that typing echoes at once to a human, rarely enough to cost nothing. */
    static final long PERIOD_MILLIS = 10;

    private final ConsoleWatcher console;
    private final Thread thread;
    private volatile boolean closed;

    private ConsoleFlusher(ConsoleWatcher console) {
        this.console = console;
        this.thread = Thread.ofPlatform().name("console-flush").daemon().unstarted(this::loop);
    }

    static ConsoleFlusher start(ConsoleWatcher console) {
        ConsoleFlusher flusher = new ConsoleFlusher(console);
        flusher.thread.start();
        return flusher;
    }

    private void loop() {
        while (!closed) {
            try {
                console.awaitDirty();
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            flushOnce(console);
        }
    }

    /** Shows what is buffered now, on the calling thread. */
    static void flushOnce(ConsoleWatcher console) {
        try {
            console.flushIfDirty();
        } catch (IOException e) {
            // The user's side of the console is gone (a closed pipe): nothing more can be shown, the VM runs on.
        }
    }

    /** Stops the thread, waits for it, and shows what is left. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flushOnce(console);
    }
}
