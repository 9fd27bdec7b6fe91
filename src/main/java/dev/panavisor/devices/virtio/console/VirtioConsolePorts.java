package dev.panavisor.devices.virtio.console;

import dev.panavisor.devices.virtio.ConfigSpace;
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
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

/**
 * A virtio console with several named data ports and no console port (virtio 1.2 §5.3, with
 * VIRTIO_CONSOLE_F_MULTIPORT): byte streams between host and guest with no terminal in between, which Linux offers
 * as the character devices {@code /dev/vport<N>p<id>}, their names in {@code /sys/class/virtio-ports/*}/name.
 * Panavisor's {@code run --exec} carries a command's stdin, stdout and stderr on three of them.
 *
 * <p>Each port is one-way here: an <em>input</em> port carries bytes from the host ({@link #receive}) to the
 * guest, an <em>output</em> port carries the guest's bytes to that port's {@link OutputStream}. An input port's end
 * is an end of file in the guest: after {@link #endOfInput} and once every byte before it is in the guest's
 * buffers, the device says it has closed its side (PORT_OPEN 0), and Linux's read() returns 0 when the port has no
 * data left and the host side is closed ({@code port_fops_read}).
 *
 * <p>Queues (§5.3.2): port 0's receiveq and transmitq at 0 and 1, the control receiveq and transmitq at 2 and 3,
 * then port {@code n >= 1}'s at {@code 2(n+1)} and {@code 2(n+1)+1}. The start-up conversation (§5.3.6.1-2):
 * the driver says DEVICE_READY; the device announces each port (DEVICE_ADD); the driver answers PORT_READY for
 * each; the device names it (PORT_NAME) and says whether its side is open (PORT_OPEN). The driver sends PORT_OPEN
 * when a guest program opens or closes the port. Input is held until the guest has the port open: Linux drops
 * data that arrives on a port nobody has open ({@code discard_port_data}).
 */
public final class VirtioConsolePorts implements VirtioDevice {
    /** VIRTIO_CONSOLE_F_MULTIPORT (§5.3.3). */
    public static final long F_MULTIPORT = 1L << 1;
    public static final int CONTROL_RECEIVE_QUEUE = 2;
    public static final int CONTROL_TRANSMIT_QUEUE = 3;
    public static final int QUEUE_SIZE = 64;
    /** Input held per port while the guest is not reading. */
    public static final int INPUT_CAPACITY = 64 * 1024;

    /** A port: its name and, for an output port, where its bytes go (null for an input port). */
    public record Port(String name, OutputStream sink) {
        public static Port input(String name) {
            return new Port(name, null);
        }

        public static Port output(String name, OutputStream sink) {
            return new Port(name, java.util.Objects.requireNonNull(sink));
        }

        boolean isInput() {
            return sink == null;
        }
    }

    /** What the device knows about one port. */
    private static final class PortState {
        final Port port;
        final InputFifo input;
        boolean ready;      // the driver said PORT_READY 1
        boolean guestOpen;  // a guest program has it open
        boolean hostOpen;   // this side is open: output ports always, input ports until their end has been delivered
        boolean endOfInput;
        IOException outputError; // the first error writing this output port's sink; its output is dropped after it

        PortState(Port port) {
            this.port = port;
            this.input = port.isInput() ? new InputFifo(INPUT_CAPACITY) : null;
            this.hostOpen = true;
        }
    }

    private final PortState[] ports;
    /** struct virtio_console_config's bytes: max_nr_ports at 4, the rest zero. */
    private final byte[] config;
    /**
     * Messages for the driver, waiting for its control receive buffers. Bounded whatever the driver does: each port
     * is announced once per driver ({@link #announced}), named and opened once ({@code PortState.ready}) and closed
     * once ({@code hostOpen}), so at most four messages a port wait here.
     */
    private final ArrayDeque<byte[]> controlOut = new ArrayDeque<>();
    /** The driver said DEVICE_READY and the ports were announced; a repeat announces nothing (until a reset). */
    private boolean announced;
    private final byte[] scratch = new byte[4096];
    private List<SplitVirtqueue> queues;
    private GuestMemory memory;
    private VirtioInterrupt interrupt;
    private boolean failed;
    private IOException outputError;
    /** Told once, on the thread that serves the port, of the first error writing an output port's sink. */
    private final Consumer<IOException> outputFailed;

    public VirtioConsolePorts(List<Port> ports) {
        this(ports, error -> { });
    }

    /**
     * @param outputFailed told once of the first error writing an output port's sink (a closed pipe, a full disk),
     *                     on the thread serving the port, under the device's lock: the VMM ends the VM, as a
     *                     process whose output is gone ends (SIGPIPE). Each port keeps being served; only the port
     *                     that failed drops its output.
     */
    public VirtioConsolePorts(List<Port> ports, Consumer<IOException> outputFailed) {
        this.outputFailed = java.util.Objects.requireNonNull(outputFailed);
        if (ports.isEmpty()) {
            throw new IllegalArgumentException("a console needs at least one port");
        }
        this.ports = ports.stream().map(PortState::new).toArray(PortState[]::new);
        this.config = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(4, this.ports.length).array();
    }

    @Override
    public int deviceType() {
        return VirtioConsole.DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-console (ports)";
    }

    @Override
    public long offeredFeatures() {
        return VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX | VirtioFeatures.INDIRECT_DESC | F_MULTIPORT;
    }

    @Override
    public int queueCount() {
        return 2 * (ports.length + 1);
    }

    @Override
    public int maxQueueSize(int index) {
        return QUEUE_SIZE;
    }

    /** struct virtio_console_config (§5.3.4): cols and rows (u16, unused: no F_SIZE), max_nr_ports (u32), emerg_wr. */
    @Override
    public long readConfig(int offset, int size) {
        return ConfigSpace.read(config, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // emerg_wr needs VIRTIO_CONSOLE_F_EMERG_WRITE, which is not offered.
    }

    @Override
    public void activate(long features, List<SplitVirtqueue> queues, GuestMemory memory, VirtioInterrupt interrupt) {
        if (!VirtioFeatures.has(features, F_MULTIPORT)) {
            throw new VirtioException("the driver did not accept VIRTIO_CONSOLE_F_MULTIPORT, which the ports need");
        }
        this.queues = List.copyOf(queues);
        this.memory = memory;
        this.interrupt = interrupt;
        this.failed = false;
    }

    /** Forgets the driver's view (ports announced, opened); undelivered input and ends of input are kept. */
    @Override
    public void reset() {
        queues = null;
        memory = null;
        interrupt = null;
        failed = false;
        announced = false;
        controlOut.clear();
        for (PortState p : ports) {
            p.ready = false;
            p.guestOpen = false;
        }
    }

    /** The driver's control messages are answered in the exit: Linux spins until each comes back. */
    @Override
    public boolean servedInExit(int index) {
        return index == CONTROL_TRANSMIT_QUEUE;
    }

    @Override
    public void queueNotify(int index) {
        if (queues == null || failed) {
            return;
        }
        if (index == CONTROL_TRANSMIT_QUEUE) {
            readControl();
        } else if (index == CONTROL_RECEIVE_QUEUE) {
            sendControl();
        } else {
            int port = index < 2 ? 0 : index / 2 - 1;
            if (port < ports.length) {
                if (index % 2 == 0) {
                    deliverInput(port);
                } else {
                    transmit(port);
                }
            }
        }
    }

    /** Index of port {@code id}'s receiveq (§5.3.2); its transmitq follows. */
    static int receiveQueue(int id) {
        return id == 0 ? 0 : 2 * (id + 1);
    }

    /**
     * Bytes from the host for input port {@code id}. Returns how many were taken: fewer than {@code length} when
     * the port's buffer is full, and the caller offers the rest again later. Call under the device's lock.
     */
    public int receive(int id, byte[] bytes, int offset, int length) {
        PortState p = inputPort(id);
        if (p.endOfInput) {
            throw new IllegalStateException("input port " + p.port.name() + " has already ended");
        }
        int taken = p.input.offer(bytes, offset, length);
        guarded(() -> deliverInput(id));
        return taken;
    }

    /** The host's input for port {@code id} has ended: the guest reads end-of-file after the bytes before it. */
    public void endOfInput(int id) {
        PortState p = inputPort(id);
        p.endOfInput = true;
        if (queues == null) {
            closeHostSideIfDone(id); // no driver yet: only the state changes, and PORT_READY will say it
        } else {
            guarded(() -> closeHostSideIfDone(id));
        }
    }

    /** Bytes waiting for the guest on input port {@code id}. */
    public int pendingInput(int id) {
        return inputPort(id).input.size();
    }

    /** Whether this side of port {@code id} is open, as the guest has been or will be told. */
    public boolean hostOpen(int id) {
        return ports[id].hostOpen;
    }

    /** Control messages waiting for the driver's receive buffers: never more than four a port. */
    int pendingControlMessages() {
        return controlOut.size();
    }

    /** The first error writing to an output port's sink, or null; that port's output is dropped from then on. */
    public IOException outputError() {
        return outputError;
    }

    private PortState inputPort(int id) {
        if (id < 0 || id >= ports.length || !ports[id].port.isInput()) {
            throw new IllegalArgumentException("port " + id + " is not an input port");
        }
        return ports[id];
    }

    /** Runs a step outside any transport call: a broken queue fails the device the way the transport would. */
    private void guarded(Runnable step) {
        if (queues == null || failed) {
            return;
        }
        try {
            step.run();
        } catch (VirtioException | GuestMemoryException e) {
            failed = true;
            interrupt.deviceFailed(e.getMessage());
        }
    }

    private void readControl() {
        SplitVirtqueue queue = queues.get(CONTROL_TRANSMIT_QUEUE);
        DescriptorChain chain;
        byte[] header = new byte[PortControl.SIZE];
        while ((chain = queue.pop()) != null) {
            boolean complete = chain.readableBytes() >= PortControl.SIZE;
            if (complete) {
                chain.readFromReadable(0, header, 0, PortControl.SIZE);
            }
            queue.addUsed(chain.headIndex(), 0);
            if (complete) {
                handle(PortControl.decode(header));
            }
        }
        if (queue.needsNotification()) {
            interrupt.usedBuffers();
        }
        sendControl();
    }

    private void handle(PortControl message) {
        if (message.event() == PortControl.DEVICE_READY) {
            // Linux says it once per probe; a driver that repeats it would otherwise queue a DEVICE_ADD per port
            // each time, as much host memory as it cares to fill while it posts no buffer to take them.
            if (message.value() == 1 && !announced) {
                announced = true;
                for (int id = 0; id < ports.length; id++) {
                    controlOut.add(PortControl.of(id, PortControl.DEVICE_ADD, 1).encode());
                }
            }
            return;
        }
        int id = message.id();
        if (id < 0 || id >= ports.length) {
            return; // not a port of this device: nothing to do
        }
        PortState p = ports[id];
        switch (message.event()) {
            case PortControl.PORT_READY -> {
                if (message.value() == 1 && !p.ready) {
                    p.ready = true;
                    controlOut.add(new PortControl(id, PortControl.PORT_NAME, 1, p.port.name()).encode());
                    controlOut.add(PortControl.of(id, PortControl.PORT_OPEN, p.hostOpen ? 1 : 0).encode());
                }
            }
            case PortControl.PORT_OPEN -> {
                p.guestOpen = message.value() == 1;
                if (p.guestOpen && p.port.isInput()) {
                    deliverInput(id);
                }
            }
            default -> {
                // RESIZE and the others are the device's to send, or about features not offered.
            }
        }
    }

    /** Moves queued control messages into the driver's control receive buffers. */
    private void sendControl() {
        SplitVirtqueue queue = queues.get(CONTROL_RECEIVE_QUEUE);
        DescriptorChain chain;
        // pop() looks at the ring itself, once: a check before it could see a chain the driver then takes back.
        while (!controlOut.isEmpty() && (chain = queue.pop()) != null) {
            byte[] message = controlOut.poll();
            int written = chain.writeToWritable(0, message, 0, (int) Math.min(message.length, chain.writableBytes()));
            queue.addUsed(chain.headIndex(), written);
        }
        if (queue.needsNotification()) {
            interrupt.usedBuffers();
        }
    }

    /** Fills port {@code id}'s posted receive buffers with its pending input, once a guest program has it open. */
    private void deliverInput(int id) {
        PortState p = ports[id];
        if (!p.port.isInput() || !p.guestOpen) {
            return;
        }
        SplitVirtqueue queue = queues.get(receiveQueue(id));
        DescriptorChain chain;
        while (!p.input.isEmpty() && (chain = queue.pop()) != null) { // as in sendControl
            long room = chain.writableBytes();
            long written = 0;
            while (written < room && !p.input.isEmpty()) {
                int n = p.input.take(scratch, (int) Math.min(scratch.length, room - written));
                written += chain.writeToWritable(written, scratch, 0, n);
            }
            queue.addUsed(chain.headIndex(), (int) written);
        }
        if (queue.needsNotification()) {
            interrupt.usedBuffers();
        }
        closeHostSideIfDone(id);
    }

    /**
     * After the end of an input port's input, once its last byte is in the driver's used ring: says PORT_OPEN 0.
     * (Linux reads used buffers before it looks at the host side's state, so no byte is lost to the message.)
     */
    private void closeHostSideIfDone(int id) {
        PortState p = ports[id];
        if (p.endOfInput && p.input.isEmpty() && p.hostOpen) {
            p.hostOpen = false;
            if (p.ready) {
                controlOut.add(PortControl.of(id, PortControl.PORT_OPEN, 0).encode());
                sendControl();
            }
        }
    }

    /** Sends every buffer the guest queued on output port {@code id} to its sink, and returns the buffers. */
    private void transmit(int id) {
        PortState p = ports[id];
        SplitVirtqueue queue = queues.get(receiveQueue(id) + 1);
        DescriptorChain chain;
        while ((chain = queue.pop()) != null) {
            for (int i = 0; i < chain.readableSegmentCount(); i++) {
                write(p, chain.address(i), chain.length(i));
            }
            queue.addUsed(chain.headIndex(), 0);
        }
        if (p.port.sink() != null && p.outputError == null) {
            try {
                p.port.sink().flush();
            } catch (IOException e) {
                outputFailed(p, e);
            }
        }
        if (queue.needsNotification()) {
            interrupt.usedBuffers();
        }
    }

    private void write(PortState p, long address, long length) {
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(scratch.length, length - done);
            memory.read(address + done, scratch, 0, n);
            done += n;
            if (p.port.sink() != null && p.outputError == null) { // bytes sent on an input port are dropped
                try {
                    p.port.sink().write(scratch, 0, n);
                } catch (IOException e) {
                    outputFailed(p, e); // the guest is still served; this port's output is lost from here on
                }
            }
        }
    }

    private void outputFailed(PortState p, IOException e) {
        p.outputError = e;
        if (outputError == null) {
            outputError = e;
            outputFailed.accept(e);
        }
    }

    /** Serves whatever the guest left in the output ports' transmit queues (the VM's last writes), under the lock. */
    public void drainOutput() {
        guarded(() -> {
            for (int id = 0; id < ports.length; id++) {
                if (!ports[id].port.isInput()) {
                    transmit(id);
                }
            }
        });
    }
}
