package dev.panavisor.vmm;

import java.io.PrintStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The VM's notices on stderr while it runs (a disk the host fails, a network backend failing, a device the guest
 * broke: {@link NeedsResetReporter}), written by a thread of their own, {@code stderr-notices}.
 *
 * <p>Why not at once, as {@link EventLog#to} does. The threads that report them are device workers and vCPUs, often
 * holding a device's lock. A stderr whose reader stopped reading (a pipe nobody drains) would hold such a thread in
 * {@code write(2)}, where no kick reaches it; every vCPU touching that device would then wait for the lock, and the
 * VM's end for them. Here a notice waits in memory instead: up to {@value #CAPACITY} lines, and beyond that they are
 * dropped and counted, and the count is said where they would have been: before the next line that finds room, or
 * at the end (Firecracker's logger drops what it cannot write at once, counting it in its metrics, for the same
 * reason). The thread starts with the first notice: a run that
 * has none has no such thread.
 */
final class StderrNotices implements EventLog, AutoCloseable {
    static final int CAPACITY = 256;

    private final PrintStream err;
    private final ArrayBlockingQueue<String> waiting = new ArrayBlockingQueue<>(CAPACITY);
    /** Guarded by this: lines dropped since the last one queued, lines queued and not yet written, the thread. */
    private long dropped;
    private int pending;
    private Thread writer;
    private boolean closed;

    StderrNotices(PrintStream err) {
        this.err = err;
    }

    /** Never waits for stderr: the line waits, or is dropped and counted. */
    @Override
    public void event(String line) {
        synchronized (this) {
            String text = "panavisor: " + line;
            if (closed || !waiting.offer(dropped == 0 ? text : droppedLine() + System.lineSeparator() + text)) {
                dropped++;
                return;
            }
            dropped = 0;
            pending++;
            if (writer == null) {
                try {
                    // Started under the system-call filter when the first notice comes after the VM is confined:
                    // its clone rule allows threads, as the JIT's compiler threads are started on demand too.
                    writer = Thread.ofPlatform().daemon().name("stderr-notices").start(this::writeOut);
                } catch (Throwable e) { // OutOfMemoryError "unable to create native thread": said here instead
                    waiting.clear();
                    pending = 0;
                    closed = true; // later notices are counted as dropped
                    EventLog.to(err).event(line + " (" + e + "; later notices are not shown)");
                }
            }
        }
    }

    private void writeOut() {
        try {
            while (true) {
                String text = waiting.take();
                synchronized (err) {
                    err.println(text);
                    err.flush();
                }
                synchronized (this) {
                    pending--;
                    notifyAll();
                }
            }
        } catch (InterruptedException e) {
            // closed: what is left is not written
        }
    }

    private String droppedLine() {
        return "panavisor: " + dropped + " notices were dropped: stderr was not read fast enough";
    }

    /**
     * The VM's end: waits up to {@code limitMillis} for the waiting notices to be written (they come before the run's
     * last lines), then lets the thread go. A reader that does not read costs at most that long.
     */
    void close(long limitMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMillis);
        synchronized (this) {
            if (closed) {
                return; // once: a second close would wait out the limit again for a writer already let go
            }
            closed = true;
            if (dropped > 0 && writer != null && waiting.offer(droppedLine())) {
                dropped = 0;
                pending++;
            }
            boolean interrupted = false;
            while (writer != null && pending > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (writer != null) {
                writer.interrupt();
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        close(Machine.HOST_STOP_OUTPUT_LIMIT.toMillis());
    }
}
