package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.console.VirtioConsolePorts;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.function.Consumer;

/**
 * The standard streams of a guest command ({@code run --exec} with {@link MachineConfig.CommandStdio#STREAMS}):
 * one {@link VirtioConsolePorts} device with three ports, named {@value #STDIN_PORT}, {@value #STDOUT_PORT} and
 * {@value #STDERR_PORT}. The guest's init finds them by name and connects the command to them
 * (guest-images/init), so its stdout and stderr reach the host's byte for byte, with no terminal to add carriage
 * returns and no console lines mixed in, and the host's stdin reaches the command and ends with end-of-file.
 *
 * <p>The device is guarded by its transport's monitor, like every device on the bus; {@link Machine} hands it over
 * ({@link #attach}) when it puts the device on the bus. After {@link #close()} no more input reaches the device.
 *
 * <p>The device writes the command's output into two buffers ({@link ConsoleOutput}, {@value #OUTPUT_CAPACITY} bytes
 * each), and a flusher thread for each ({@link ConsoleFlusher}, started by {@link #startOutput}) writes them to the
 * host's stdout and stderr, as the console's bytes go. So the thread that serves the guest's queue never waits in
 * a write(2) under the device's lock: a reader that stops reading holds a flusher, and the device only once its
 * buffer is full, and then only until the host stops the VM ({@link #stopWaiting}). A run that ends by itself
 * waits for its reader to take every byte ({@link #finish}), as any program writing to a pipe does.
 *
 * <p>Each stream keeps the order of its bytes; the two are not ordered against each other (with {@code 2>&1}, a line
 * on stderr may come before a stdout line the command wrote first). Nor were they when the device wrote them: its
 * worker serves the stdout port's queue before the stderr port's in each round.
 */
public final class CommandStreams implements AutoCloseable {
    public static final String STDIN_PORT = "panavisor.stdin";
    public static final String STDOUT_PORT = "panavisor.stdout";
    public static final String STDERR_PORT = "panavisor.stderr";
    static final int STDIN = 0;
    /** Each output stream's buffer: as much as the plain buffered streams held before. */
    static final int OUTPUT_CAPACITY = 64 * 1024;
    /** How often a finish looks whether the host has stopped the VM meanwhile. */
    private static final java.time.Duration FINISH_SLICE = java.time.Duration.ofMillis(50);

    private final VirtioConsolePorts device;
    private final ConsoleOutput stdout;
    private final ConsoleOutput stderr;
    private ConsoleFlusher stdoutFlusher;
    private ConsoleFlusher stderrFlusher;
    /** When the host stopped the VM ({@link #stopWaiting}, System.nanoTime), or 0. */
    private volatile long stoppedAt;
    /** The first write to the host's stdout or stderr that failed, on a flusher; null while none has. */
    private volatile IOException flusherError;
    private volatile Consumer<IOException> whenOutputFails = error -> { };
    private Object lock;
    private boolean closed;

    /**
     * @param stdout where the command's stdout goes; {@code stderr} likewise. Each gets what the guest wrote when its
     *               flusher writes (after each batch the guest sends), and is flushed then.
     */
    public CommandStreams(OutputStream stdout, OutputStream stderr) {
        this.stdout = new ConsoleOutput(stdout, OUTPUT_CAPACITY);
        this.stderr = new ConsoleOutput(stderr, OUTPUT_CAPACITY);
        this.device = new VirtioConsolePorts(List.of(VirtioConsolePorts.Port.input(STDIN_PORT),
                VirtioConsolePorts.Port.output(STDOUT_PORT, this.stdout),
                VirtioConsolePorts.Port.output(STDERR_PORT, this.stderr)), error -> whenOutputFails.accept(error));
    }

    /**
     * Starts the threads that write the command's output to the host: before the VMM confines itself, which
     * forbids new threads. Without them (a test), the device writes a full buffer out itself.
     */
    public synchronized void startOutput() {
        if (stdoutFlusher == null) {
            stdoutFlusher = ConsoleFlusher.start("stdout-flush", stdout, this::flusherFailed);
            stderrFlusher = ConsoleFlusher.start("stderr-flush", stderr, this::flusherFailed);
        }
    }

    private void flusherFailed(IOException error) {
        synchronized (this) {
            if (flusherError != null) {
                return;
            }
            flusherError = error;
        }
        whenOutputFails.accept(error);
    }

    /**
     * The host stops the VM (a signal, the stall watchdog): the device no longer waits for room in a full buffer, and
     * drops what finds none, so a reader that stopped reading cannot hold the VMM's end.
     */
    public void stopWaiting() {
        synchronized (this) {
            if (stoppedAt == 0) {
                stoppedAt = System.nanoTime();
            }
        }
        stdout.stopWaiting();
        stderr.stopWaiting();
    }

    /** {@link #stopWaiting} if {@code outcome} is a stop the host asked for (a signal, the API, the stall watchdog). */
    void stopWaitingIfHostStopped(Outcome outcome) {
        if (outcome instanceof Outcome.StoppedByHost || outcome instanceof Outcome.Stalled) {
            stopWaiting();
        }
    }

    /**
     * The VM has ended with {@code outcome}: passes on what the guest wrote last ({@link #drain()}) and waits for the
     * flushers to write everything and end. For as long as they write when the run ended by itself: the reader gets
     * every byte, however slowly it reads, as from any program writing to a pipe. When the host stopped the VM
     * ({@link #stopWaiting}: a signal, the stall watchdog), at most {@link Machine#HOST_STOP_OUTPUT_LIMIT} from then
     * on, as for the console. Returns whether every byte was written. Call after the vCPUs have stopped.
     */
    public boolean finish(Outcome outcome) {
        stopWaitingIfHostStopped(outcome);
        drain();
        ConsoleFlusher out;
        ConsoleFlusher err;
        synchronized (this) {
            out = stdoutFlusher;
            err = stderrFlusher;
        }
        if (out == null) {
            return true;
        }
        boolean all = finished(out);
        return finished(err) && all; // both, even when the first gave up: each at the limit's end at most
    }

    /** Waits for {@code flusher} to end, checking every {@link #FINISH_SLICE} whether the host stopped the VM. */
    private boolean finished(ConsoleFlusher flusher) {
        boolean interrupted = false;
        try {
            while (!flusher.finish(FINISH_SLICE)) {
                interrupted |= Thread.interrupted(); // kept for the caller; a join would return at once with it set
                long stopped = stoppedAt;
                if (stopped != 0 && System.nanoTime() - stopped > Machine.HOST_STOP_OUTPUT_LIMIT.toNanos()) {
                    return false;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * What to do, once, when the command's stdout or stderr cannot be written (a pipe whose reader has gone, as in
     * {@code run --exec 'yes' | head -1}; a full disk): {@code run} stops the VM there, as a process whose output
     * is gone stops. Called on the flusher that failed, or on the thread that serves the port, under the device's
     * lock.
     */
    public void whenOutputFails(Consumer<IOException> action) {
        this.whenOutputFails = action;
    }

    VirtioDevice device() {
        return device;
    }

    /** The lock every call into the device takes: its transport's monitor. */
    synchronized void attach(Object transportLock) {
        this.lock = transportLock;
    }

    private synchronized Object lock() {
        if (lock == null) {
            throw new IllegalStateException("the command's streams are not on a machine yet");
        }
        return lock;
    }

    /**
     * Offers bytes of the command's stdin. Returns how many the device took: fewer when its buffer is full (the
     * guest has not read yet), and the caller offers the rest again a moment later. Returns 0 after close.
     */
    public int offerInput(byte[] bytes, int offset, int length) {
        synchronized (lock()) {
            return closed ? 0 : device.receive(STDIN, bytes, offset, length);
        }
    }

    /** The host's stdin ended: the command reads end-of-file after the bytes offered before. */
    public void endInput() {
        synchronized (lock()) {
            if (!closed) {
                device.endOfInput(STDIN);
            }
        }
    }

    /**
     * Passes on what the guest wrote last: its final writes may still sit in the transmit queues when the VM ends
     * (a device worker serves them a moment after the guest's notification). Call after the vCPUs have stopped and
     * before the machine is closed.
     */
    public void drain() {
        synchronized (lock()) {
            if (!closed) {
                device.drainOutput();
            }
        }
    }

    /** The first error writing the command's output to the host (a closed pipe, a full disk), or null. */
    public IOException outputError() {
        IOException error = flusherError;
        return error != null ? error : device.outputError();
    }

    /**
     * Stops input from reaching the device, and the flushers (within {@link Machine#HOST_STOP_OUTPUT_LIMIT}, should a
     * run end without {@link #finish}); call before the machine (and its memory) is closed.
     */
    @Override
    public void close() {
        ConsoleFlusher out;
        ConsoleFlusher err;
        synchronized (this) {
            out = stdoutFlusher;
            err = stderrFlusher;
        }
        if (out != null) { // a run that ended without finish(): as a stop the host asked for, 2 s for both at most
            stopWaiting();
            finished(out);
            finished(err);
        }
        Object guard;
        synchronized (this) {
            guard = lock;
        }
        if (guard != null) {
            synchronized (guard) {
                closed = true;
            }
        }
    }
}
