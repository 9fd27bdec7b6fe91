package dev.panavisor.devices.virtio.console;

import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * A virtio console with a single port (virtio 1.2 §5.3), which a Linux guest drives as {@code /dev/hvc0} and can
 * use as its kernel console ({@code console=hvc0}).
 *
 * <p>Two queues (§5.3.2): receiveq0 (index 0) carries bytes from the host to the guest, in buffers the driver posts
 * and the device fills; transmitq0 (index 1) carries the guest's output, which goes to an injected
 * {@link OutputStream}. No optional features: without VIRTIO_CONSOLE_F_MULTIPORT there are no control queues,
 * without VIRTIO_CONSOLE_F_SIZE the guest uses its default terminal size.
 *
 * <p>Input arrives whenever the user types, from the VMM's input thread via {@link #receive}: it is buffered
 * ({@link InputFifo}) until the driver has posted receive buffers, and delivered as soon as it has, either then or
 * when the driver's next notification on receiveq0 says buffers were added. Input longer than one buffer fills as
 * many buffers as it needs.
 */
public final class VirtioConsole implements VirtioDevice {
    public static final int DEVICE_TYPE = 3;
    public static final int RECEIVE_QUEUE = 0;
    public static final int TRANSMIT_QUEUE = 1;
    public static final int QUEUE_SIZE = 64;
    /** How much typed input is kept while the guest is not reading. */
    public static final int INPUT_CAPACITY = 64 * 1024;

    private final OutputStream output;
    private final InputFifo input = new InputFifo(INPUT_CAPACITY);
    private final byte[] scratch = new byte[4096];

    private SplitVirtqueue receiveQueue;
    private SplitVirtqueue transmitQueue;
    private GuestMemory memory;
    private VirtioInterrupt interrupt;
    private boolean failed;
    private IOException outputError;

    /** @param output where the guest's console output goes (typically the VMM's standard output) */
    public VirtioConsole(OutputStream output) {
        this.output = output;
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-console";
    }

    @Override
    public long offeredFeatures() {
        return VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX | VirtioFeatures.INDIRECT_DESC;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int maxQueueSize(int index) {
        return QUEUE_SIZE;
    }

    /** struct virtio_console_config (cols, rows, max_nr_ports, emerg_wr): meaningful only with features not offered. */
    @Override
    public long readConfig(int offset, int size) {
        return 0;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // emerg_wr needs VIRTIO_CONSOLE_F_EMERG_WRITE, which is not offered.
    }

    @Override
    public void activate(long features, List<SplitVirtqueue> queues, GuestMemory memory, VirtioInterrupt interrupt) {
        this.receiveQueue = queues.get(RECEIVE_QUEUE);
        this.transmitQueue = queues.get(TRANSMIT_QUEUE);
        this.memory = memory;
        this.interrupt = interrupt;
        this.failed = false;
    }

    /** Drops the queues; typed input that was not delivered yet stays buffered for the next driver. */
    @Override
    public void reset() {
        receiveQueue = null;
        transmitQueue = null;
        memory = null;
        interrupt = null;
        failed = false;
    }

    /**
     * Output is served in the notifying exit: the guest's hvc driver spins until each buffer comes back, and serving
     * it is a copy into the console's buffer (the terminal write happens later, on the VMM's console flusher).
     */
    @Override
    public boolean servedInExit(int index) {
        return index == TRANSMIT_QUEUE;
    }

    @Override
    public void queueNotify(int index) {
        if (receiveQueue == null || failed) {
            return;
        }
        if (index == TRANSMIT_QUEUE) {
            transmit();
        } else if (index == RECEIVE_QUEUE) {
            deliverInput();
        }
    }

    /**
     * Bytes from the host (the user's keyboard) for the guest. Called by the VMM's input thread, under the same
     * lock as every other call into this device. Delivered at once if the driver has buffers posted, else later.
     * Returns how many bytes were taken: fewer than {@code length} when the input buffer is full, and the caller
     * offers the rest again later.
     */
    public int receive(byte[] bytes, int offset, int length) {
        int taken = input.offer(bytes, offset, length);
        if (receiveQueue == null || failed) {
            return taken;
        }
        try {
            deliverInput();
        } catch (VirtioException | GuestMemoryException e) {
            // Here no transport is on the call stack to catch it: report it the same way the transport would.
            failed = true;
            interrupt.deviceFailed(e.getMessage());
        }
        return taken;
    }

    /** Fills posted receive buffers with pending input, then notifies the driver once if it wants that. */
    private void deliverInput() {
        DescriptorChain chain;
        // pop() looks at the ring itself, once: a check before it could see a chain the driver then takes back.
        while (!input.isEmpty() && (chain = receiveQueue.pop()) != null) {
            long room = chain.writableBytes();
            long written = 0;
            while (written < room && !input.isEmpty()) {
                int n = input.take(scratch, (int) Math.min(scratch.length, room - written));
                int copied = chain.writeToWritable(written, scratch, 0, n);
                written += copied;
            }
            receiveQueue.addUsed(chain.headIndex(), (int) written);
        }
        if (receiveQueue.needsNotification()) {
            interrupt.usedBuffers();
        }
    }

    /** Sends every buffer the guest has queued for output to the sink, and returns the buffers. */
    private void transmit() {
        DescriptorChain chain;
        while ((chain = transmitQueue.pop()) != null) {
            for (int i = 0; i < chain.readableSegmentCount(); i++) {
                write(chain.address(i), chain.length(i));
            }
            transmitQueue.addUsed(chain.headIndex(), 0); // the device wrote nothing into these buffers
        }
        // No flush here: this runs in the guest's exit; the sink's owner shows the bytes (the VMM's console flusher).
        if (transmitQueue.needsNotification()) {
            interrupt.usedBuffers();
        }
    }

    private void write(long address, long length) {
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(scratch.length, length - done);
            memory.read(address + done, scratch, 0, n);
            done += n;
            if (outputError == null) {
                try {
                    output.write(scratch, 0, n);
                } catch (IOException e) {
                    outputError = e; // keep serving the guest; its output is lost, which outputError() reports
                }
            }
        }
    }

    /** Typed bytes waiting for receive buffers. */
    public int pendingInput() {
        return input.size();
    }

    /** Typed bytes dropped because the buffer was full. */
    public long droppedInput() {
        return input.dropped();
    }

    /** The first error writing to the output sink, or null; output is dropped after it. */
    public IOException outputError() {
        return outputError;
    }
}
