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
 */
public final class CommandStreams implements AutoCloseable {
    public static final String STDIN_PORT = "panavisor.stdin";
    public static final String STDOUT_PORT = "panavisor.stdout";
    public static final String STDERR_PORT = "panavisor.stderr";
    static final int STDIN = 0;

    private final VirtioConsolePorts device;
    private volatile Consumer<IOException> whenOutputFails = error -> { };
    private Object lock;
    private boolean closed;

    /** @param stdout where the command's stdout goes; {@code stderr} likewise. Both are flushed after each batch. */
    public CommandStreams(OutputStream stdout, OutputStream stderr) {
        this.device = new VirtioConsolePorts(List.of(VirtioConsolePorts.Port.input(STDIN_PORT),
                VirtioConsolePorts.Port.output(STDOUT_PORT, stdout),
                VirtioConsolePorts.Port.output(STDERR_PORT, stderr)), error -> whenOutputFails.accept(error));
    }

    /**
     * What to do, once, when the command's stdout or stderr cannot be written (a pipe whose reader has gone, as in
     * {@code run --exec 'yes' | head -1}; a full disk): {@code run} stops the VM there, as a process whose output
     * is gone stops. Called on the thread that serves the port, under the device's lock.
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
        return device.outputError();
    }

    /** Stops input from reaching the device; call before the machine (and its memory) is closed. */
    @Override
    public void close() {
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
