package dev.panavisor.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The console's bytes on their way to the user: devices put them in a bounded buffer from the thread that served
 * the guest's exit, and the console flusher ({@link ConsoleFlusher}) writes them out from its own thread, outside
 * the buffer's lock. So a vCPU that prints never waits for a write(2) to the terminal: a slow or stopped reader of
 * Panavisor's stdout costs the guest's printing nothing until {@link #CAPACITY} bytes are waiting.
 *
 * <p>When that many are waiting (the reader has stopped reading: a full pipe), a device that prints waits for
 * room, as a real UART holds its sender back: the guest's console slows to the reader's pace, and nothing it
 * printed is lost. A stopping VM ends that wait ({@link #stopWaiting}): from then on bytes that find no room are
 * dropped, so a vCPU held by a stuck reader still stops when told: by a signal, the API, the stall watchdog, or
 * Ctrl-A x (a typed key that waits for the console device's lock, which the waiting vCPU holds, waits on the
 * {@code console-type} thread, not on the one that reads Ctrl-A x). While no flusher is attached
 * ({@link #flushedBy}), a full buffer is written out by the device's own thread instead, as a plain buffered stream
 * would.
 *
 * <p>A write to the user's stream that fails (a closed pipe) ends the showing: what was waiting is dropped, and so
 * is everything after it, since nothing more can be shown (the VM runs on).
 */
final class ConsoleOutput extends OutputStream {
    /**
     * Bytes waiting to be shown at most: a few screens of text, far more than any console prints in the flusher's
     * 10 ms, and small beside the VMM's memory (two such arrays: the plain buffered stream before had 8 KiB).
     */
    static final int CAPACITY = 16 * 1024;

    private final OutputStream sink;
    /** Bytes waiting, from index 0: the writer takes them all at once, so the buffer never wraps. */
    private final byte[] waiting = new byte[CAPACITY];
    /** The writer's copy of what it takes out of the buffer; used only under {@link #writer}. */
    private final byte[] chunk = new byte[CAPACITY];
    /** One thread writes to the sink at a time, so bytes reach it in the order they were put. */
    private final ReentrantLock writer = new ReentrantLock();
    private int count;
    private boolean flusherAttached;
    private boolean stopping;
    private boolean ending;
    private boolean failed;

    ConsoleOutput(OutputStream sink) {
        this.sink = sink;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /** Puts bytes in the buffer; waits for room or writes out as the class comment says. */
    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        while (length > 0) {
            int n = put(bytes, offset, length);
            if (n < 0) {
                drain(); // no flusher: this thread makes the room
                continue;
            }
            offset += n;
            length -= n;
        }
    }

    /** Copies what fits; returns how many bytes went in (dropped ones count), or -1 when the caller must drain. */
    private synchronized int put(byte[] bytes, int offset, int length) throws IOException {
        while (count == CAPACITY && !failed && !stopping) {
            if (!flusherAttached) {
                return -1;
            }
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while the console's reader was not reading");
            }
        }
        if (failed || count == CAPACITY) {
            return length; // nothing can be shown any more, or a stopping VM's byte with no room: dropped
        }
        int n = Math.min(length, CAPACITY - count);
        System.arraycopy(bytes, offset, waiting, count, n);
        boolean wasEmpty = count == 0;
        count += n;
        if (wasEmpty || count == CAPACITY) {
            notifyAll(); // the flusher waits for the first byte, and gathers no longer once the buffer is full
        }
        return n;
    }

    /**
     * Blocks until there is something to show, or the flusher is told to finish ({@link #endWaits}). The console
     * flusher sleeps here: an idle console costs nothing.
     */
    synchronized void awaitBytes() throws InterruptedException {
        while (count == 0 && !ending) {
            wait();
        }
    }

    /**
     * Lets more output gather for up to {@code millis} before the flusher shows it, unless the flusher is told to
     * finish ({@link #endWaits}): a VM that ends does not wait out the period (the init's last line, which ends an
     * {@code --exec} run, otherwise held every such run's end for the rest of it), or the buffer is full: a guest
     * printing fast is then held only as long as its terminal takes to read, not 10 ms per buffer.
     */
    synchronized void gather(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
        long left;
        while (!ending && count < CAPACITY && (left = deadline - System.nanoTime()) > 0) {
            java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    /**
     * Ends the flusher's waits in {@link #awaitBytes} and {@link #gather}, now and later. Not an interrupt: that would
     * end a write to an interruptible stream (a channel's) half-way.
     */
    synchronized void endWaits() {
        ending = true;
        notifyAll();
    }

    /**
     * Writes what is waiting to the user's stream, on the calling thread, and flushes it; what arrives meanwhile
     * waits for the next call. Nothing is written while another thread writes.
     */
    void drain() throws IOException {
        writer.lock();
        try {
            int n = take();
            if (n > 0) {
                sink.write(chunk, 0, n);
                sink.flush();
            }
        } catch (IOException e) {
            fail();
            throw e;
        } finally {
            writer.unlock();
        }
    }

    /** {@link #drain()} until nothing is waiting: the VM's end, once nothing prints any more. */
    void drainAll() throws IOException {
        while (hasBytes()) {
            drain();
        }
    }

    private synchronized boolean hasBytes() {
        return count > 0;
    }

    private synchronized int take() {
        int n = count;
        System.arraycopy(waiting, 0, chunk, 0, n);
        count = 0;
        notifyAll(); // room for a device that waits
        return n;
    }

    private synchronized void fail() {
        failed = true;
        count = 0;
        notifyAll();
    }

    /** Whether a console flusher writes the buffer out (true), or a full buffer is written by whoever fills it. */
    synchronized void flushedBy(boolean flusher) {
        flusherAttached = flusher;
        notifyAll();
    }

    /** The VM is stopping: devices no longer wait for room (bytes that find none are dropped). */
    synchronized void stopWaiting() {
        stopping = true;
        notifyAll();
    }

    @Override
    public void flush() throws IOException {
        drainAll();
    }
}
