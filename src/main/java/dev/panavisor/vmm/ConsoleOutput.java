package dev.panavisor.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The console's bytes on their way to the user, and those of an {@code --exec} command's stdout and stderr
 * ({@link CommandStreams}): devices put them in a bounded buffer from the thread that served the guest's exit or
 * queue, and a flusher ({@link ConsoleFlusher}) writes them out from its own thread, outside the buffer's lock. So a
 * vCPU that prints never waits for a write(2) to the terminal: a slow or stopped reader of Panavisor's stdout costs
 * the guest's printing nothing until the buffer is full ({@link #CAPACITY} bytes for the console).
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
 * is everything after it, since nothing more can be shown. The console's VM runs on; a command's output stream
 * stops its VM, as SIGPIPE would ({@link CommandStreams}). Likewise, once a stopping VM has dropped a byte for want
 * of room, every later byte is dropped too: the output ends there, as a killed program's does, rather than go on
 * after a hole.
 */
final class ConsoleOutput extends OutputStream {
    /**
     * Bytes waiting to be shown at most: a few screens of text, far more than any console prints in the flusher's
     * 10 ms, and small beside the VMM's memory (two such arrays: the plain buffered stream before had 8 KiB).
     */
    static final int CAPACITY = 16 * 1024;

    private final OutputStream sink;
    private final int capacity;
    /** Bytes waiting, from index 0: the writer takes them all at once, so the buffer never wraps. */
    private final byte[] waiting;
    /** The writer's copy of what it takes out of the buffer; used only under {@link #writer}. */
    private final byte[] chunk;
    /** One thread writes to the sink at a time, so bytes reach it in the order they were put. */
    private final ReentrantLock writer = new ReentrantLock();
    private int count;
    private boolean flusherAttached;
    private boolean stopping;
    private boolean ending;
    private boolean failed;
    /** A stopping VM dropped a byte for want of room: the output ends there. */
    private boolean cut;
    /** A writer flushed: the flusher writes what waits without gathering more ({@link #flush}). */
    private boolean hurry;

    ConsoleOutput(OutputStream sink) {
        this(sink, CAPACITY);
    }

    /** A buffer of {@code capacity} bytes in front of {@code sink}. */
    ConsoleOutput(OutputStream sink, int capacity) {
        this.sink = sink;
        this.capacity = capacity;
        this.waiting = new byte[capacity];
        this.chunk = new byte[capacity];
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
        while (count == capacity && !failed && !stopping) {
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
        if (failed || cut || count == capacity) {
            cut |= count == capacity; // a stopping VM's byte with no room: dropped, and all after it
            return length; // nothing can be shown any more
        }
        int n = Math.min(length, capacity - count);
        System.arraycopy(bytes, offset, waiting, count, n);
        boolean wasEmpty = count == 0;
        count += n;
        if (wasEmpty || count == capacity) {
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
     * Lets more output gather for up to {@code millis} before the flusher shows it, unless a writer flushed, or the
     * flusher is told to finish ({@link #endWaits}): a VM that ends does not wait out the period (the init's last
     * line, which ends an {@code --exec} run, otherwise held every such run's end for the rest of it), or the buffer
     * is full: a guest printing fast is then held only as long as its terminal takes to read, not 10 ms per buffer.
     */
    synchronized void gather(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
        long left;
        while (!ending && !hurry && count < capacity && (left = deadline - System.nanoTime()) > 0) {
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
        hurry = false;
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

    /**
     * With a flusher attached, has it write what waits now, without gathering more, and returns at once: the
     * caller (a device, under its lock) never waits for the user's stream. Without one, {@link #drainAll()} here.
     */
    @Override
    public void flush() throws IOException {
        if (!hurryFlusher()) {
            drainAll();
        }
    }

    private synchronized boolean hurryFlusher() {
        if (flusherAttached && count > 0) {
            hurry = true;
            notifyAll();
        }
        return flusherAttached;
    }
}
