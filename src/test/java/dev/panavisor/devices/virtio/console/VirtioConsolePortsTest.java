package dev.panavisor.devices.virtio.console;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuardedGuestMemory;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Plays the part of Linux's virtio_console driver (multiport) against the device, on heap memory. */
class VirtioConsolePortsTest {
    static final int STDIN = 0;
    static final int STDOUT = 1;
    static final int STDERR = 2;
    static final long BUFFERS = 0x80000;
    static final int BUFFER_SIZE = 4096;

    final GuardedGuestMemory memory = new GuardedGuestMemory(4 << 20);
    final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    final VirtioConsolePorts device = new VirtioConsolePorts(List.of(VirtioConsolePorts.Port.input("panavisor.stdin"),
            VirtioConsolePorts.Port.output("panavisor.stdout", stdout),
            VirtioConsolePorts.Port.output("panavisor.stderr", stderr)));
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final List<DriverQueue> queues = new ArrayList<>();
    int nextBuffer;

    void activate() {
        activate(device);
    }

    void activate(VirtioConsolePorts ports) {
        List<SplitVirtqueue> deviceQueues = new ArrayList<>();
        for (int i = 0; i < ports.queueCount(); i++) {
            QueueLayout layout = QueueLayout.contiguous(0x1000 + 0x3000L * i, VirtioConsolePorts.QUEUE_SIZE);
            queues.add(new DriverQueue(memory, layout));
            deviceQueues.add(new SplitVirtqueue(memory, layout, VirtioConsolePorts.QUEUE_SIZE, false, false));
        }
        ports.activate(ports.offeredFeatures(), deviceQueues, memory, interrupt);
    }

    long buffer() {
        return BUFFERS + (long) BUFFER_SIZE * (nextBuffer++ % 512);
    }

    DriverQueue queue(int index) {
        return queues.get(index);
    }

    /** The driver posts {@code count} empty buffers on queue {@code index} and notifies. */
    void post(int index, int count) {
        for (int i = 0; i < count; i++) {
            queue(index).add(writable(buffer(), BUFFER_SIZE));
        }
        device.queueNotify(index);
    }

    void driverSays(int id, int event, int value) {
        long at = buffer();
        memory.write(at, PortControl.of(id, event, value).encode());
        queue(VirtioConsolePorts.CONTROL_TRANSMIT_QUEUE).add(readable(at, PortControl.SIZE));
        device.queueNotify(VirtioConsolePorts.CONTROL_TRANSMIT_QUEUE);
    }

    byte[] usedBytes(int index) {
        DriverQueue.Used used = queue(index).pollUsed();
        if (used == null) {
            return null;
        }
        long address = memory.readU64(queue(index).layout().descriptorTable() + 16L * used.head());
        return memory.readBytes(address, (int) used.writtenBytes());
    }

    /** The next control message from the device, as "id event value [name]", or null. */
    String deviceSaid() {
        byte[] bytes = usedBytes(VirtioConsolePorts.CONTROL_RECEIVE_QUEUE);
        if (bytes == null) {
            return null;
        }
        PortControl m = PortControl.decode(bytes);
        String name = new String(bytes, PortControl.SIZE, bytes.length - PortControl.SIZE);
        return m.id() + " " + m.event() + " " + m.value() + (name.isEmpty() ? "" : " " + name);
    }

    /** Start-up as Linux does it: control buffers, DEVICE_READY, port buffers and PORT_READY for each port. */
    void startUp() {
        activate();
        post(VirtioConsolePorts.CONTROL_RECEIVE_QUEUE, 32);
        driverSays(PortControl.NO_PORT, PortControl.DEVICE_READY, 1);
        for (int id = 0; id < 3; id++) {
            assertEquals(id + " 1 1", deviceSaid());
            post(VirtioConsolePorts.receiveQueue(id), 8);
            driverSays(id, PortControl.PORT_READY, 1);
        }
    }

    void skipStartUpMessages() {
        for (int i = 0; i < 6; i++) {
            deviceSaid();
        }
        assertNull(deviceSaid());
    }

    void guestWrites(int id, byte[] bytes) {
        long at = buffer();
        memory.write(at, bytes);
        queue(VirtioConsolePorts.receiveQueue(id) + 1).add(readable(at, bytes.length));
        device.queueNotify(VirtioConsolePorts.receiveQueue(id) + 1);
    }

    @Test
    void config_space_says_how_many_ports_there_are() {
        assertEquals(3, device.readConfig(4, 4));
        assertEquals(0, device.readConfig(0, 4));
        assertEquals(3L << 32, device.readConfig(0, 8));
        assertEquals(8, device.queueCount());
    }

    @Test
    void queues_follow_the_multiport_layout() {
        assertEquals(0, VirtioConsolePorts.receiveQueue(0));
        assertEquals(4, VirtioConsolePorts.receiveQueue(1));
        assertEquals(6, VirtioConsolePorts.receiveQueue(2));
    }

    @Test
    void a_driver_without_multiport_is_refused() {
        QueueLayout layout = QueueLayout.contiguous(0x1000, VirtioConsolePorts.QUEUE_SIZE);
        assertThrows(VirtioException.class, () -> device.activate(device.offeredFeatures()
                & ~VirtioConsolePorts.F_MULTIPORT, List.of(new SplitVirtqueue(memory, layout, 64, false, false)),
                memory, interrupt));
    }

    @Test
    void each_ready_port_is_named_and_opened_by_the_host() {
        startUp();
        assertEquals("0 7 1 panavisor.stdin", deviceSaid());
        assertEquals("0 6 1", deviceSaid());
        assertEquals("1 7 1 panavisor.stdout", deviceSaid());
        assertEquals("1 6 1", deviceSaid());
        assertEquals("2 7 1 panavisor.stderr", deviceSaid());
        assertEquals("2 6 1", deviceSaid());
        assertNull(deviceSaid());
    }

    /**
     * A driver that says DEVICE_READY again and again, posting no buffer to hear the answers: the ports are
     * announced once, so what the device holds for the driver cannot grow with what the driver repeats. A reset
     * (a driver starting over) announces them again.
     */
    @Test
    void ports_are_announced_once_however_often_the_driver_says_it_is_ready() {
        activate();
        for (int i = 0; i < 100_000; i++) {
            driverSays(PortControl.NO_PORT, PortControl.DEVICE_READY, 1);
            queue(VirtioConsolePorts.CONTROL_TRANSMIT_QUEUE).pollUsed();
        }
        post(VirtioConsolePorts.CONTROL_RECEIVE_QUEUE, 32);
        assertEquals("0 1 1", deviceSaid());
        assertEquals("1 1 1", deviceSaid());
        assertEquals("2 1 1", deviceSaid());
        assertNull(deviceSaid());

        device.reset();
        queues.clear();
        activate();
        post(VirtioConsolePorts.CONTROL_RECEIVE_QUEUE, 32);
        driverSays(PortControl.NO_PORT, PortControl.DEVICE_READY, 1);
        assertEquals("0 1 1", deviceSaid());
    }

    /**
     * The same for one port: PORT_READY again and again, no buffer to hear the answers. The port is named and
     * opened once (two messages), however often it says so; nothing else grows.
     */
    @Test
    void a_port_is_named_and_opened_once_however_often_it_says_it_is_ready() {
        activate();
        driverSays(PortControl.NO_PORT, PortControl.DEVICE_READY, 1);
        queue(VirtioConsolePorts.CONTROL_TRANSMIT_QUEUE).pollUsed();
        int announced = device.pendingControlMessages();
        for (int i = 0; i < 10_000; i++) {
            driverSays(1, PortControl.PORT_READY, 1);
            queue(VirtioConsolePorts.CONTROL_TRANSMIT_QUEUE).pollUsed();
        }
        assertEquals(announced + 2, device.pendingControlMessages(), "its name and its open state, once");
    }

    /**
     * A driver that publishes a receive buffer and takes it back between two looks of the device (another vCPU
     * writing the available index): the device fills the buffer its pop finds. It used to check for a buffer and
     * then pop, and a pop that found the buffer gone was a NullPointerException that ended the VMM.
     */
    @Test
    void a_driver_that_takes_back_its_buffer_still_gets_the_input() {
        activate();
        post(VirtioConsolePorts.CONTROL_RECEIVE_QUEUE, 8);
        driverSays(PortControl.NO_PORT, PortControl.DEVICE_READY, 1);
        driverSays(STDIN, PortControl.PORT_READY, 1);
        driverSays(STDIN, PortControl.PORT_OPEN, 1);
        post(VirtioConsolePorts.receiveQueue(STDIN), 1);
        memory.flicker(queue(VirtioConsolePorts.receiveQueue(STDIN)).layout().availableRing() + 2);
        device.receive(STDIN, new byte[] {'x'}, 0, 1);
        assertArrayEquals(new byte[] {'x'}, usedBytes(VirtioConsolePorts.receiveQueue(STDIN)));
        assertTrue(interrupt.events.stream().noneMatch(e -> e.startsWith("failed")), interrupt.events.toString());
    }

    /**
     * An output that cannot be written (stderr into a closed pipe): the VMM hears of it once, that port's bytes are
     * dropped, and the other port's still arrive whole. (Until the thirty-third session one field for the whole
     * device dropped stdout too, and nobody heard of the error: the run went on and ended with the guest's status.)
     */
    @Test
    void a_failing_output_is_reported_once_and_the_other_port_goes_on() {
        List<java.io.IOException> reported = new ArrayList<>();
        java.io.OutputStream closed = new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                throw new java.io.IOException("Broken pipe");
            }
        };
        VirtioConsolePorts ports = new VirtioConsolePorts(List.of(VirtioConsolePorts.Port.input("panavisor.stdin"),
                VirtioConsolePorts.Port.output("panavisor.stdout", stdout),
                VirtioConsolePorts.Port.output("panavisor.stderr", closed)), reported::add);
        activate(ports);
        for (String text : new String[] {"one ", "two"}) {
            for (int id : new int[] {STDERR, STDOUT}) {
                long at = buffer();
                memory.write(at, text.getBytes());
                queue(VirtioConsolePorts.receiveQueue(id) + 1).add(readable(at, text.length()));
                ports.queueNotify(VirtioConsolePorts.receiveQueue(id) + 1);
            }
        }
        assertEquals("one two", stdout.toString());
        assertEquals(1, reported.size(), reported.toString());
        assertEquals("Broken pipe", ports.outputError().getMessage());
    }

    @Test
    void output_ports_split_the_guest_bytes_exactly() {
        startUp();
        byte[] binary = {'a', '\n', 'b', '\r', '\n', 0, (byte) 0xff, 0x1b};
        guestWrites(STDOUT, binary);
        guestWrites(STDERR, "err\n".getBytes());
        guestWrites(STDOUT, "c".getBytes());
        assertArrayEquals(new byte[] {'a', '\n', 'b', '\r', '\n', 0, (byte) 0xff, 0x1b, 'c'}, stdout.toByteArray());
        assertEquals("err\n", stderr.toString());
    }

    @Test
    void input_waits_until_a_guest_program_opens_the_port() {
        startUp();
        skipStartUpMessages();
        device.receive(STDIN, "data".getBytes(), 0, 4);
        assertNull(usedBytes(VirtioConsolePorts.receiveQueue(STDIN)), "Linux would drop data for a closed port");
        driverSays(STDIN, PortControl.PORT_OPEN, 1);
        assertEquals("data", new String(usedBytes(VirtioConsolePorts.receiveQueue(STDIN))));
    }

    @Test
    void end_of_input_closes_the_host_side_after_the_last_byte() {
        startUp();
        skipStartUpMessages();
        driverSays(STDIN, PortControl.PORT_OPEN, 1);
        byte[] big = new byte[3 * BUFFER_SIZE + 100];
        new Random(13).nextBytes(big);
        assertEquals(big.length, device.receive(STDIN, big, 0, big.length));
        device.endOfInput(STDIN);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        for (byte[] b; (b = usedBytes(VirtioConsolePorts.receiveQueue(STDIN))) != null; ) {
            got.writeBytes(b);
        }
        assertArrayEquals(big, got.toByteArray());
        assertEquals("0 6 0", deviceSaid(), "PORT_OPEN 0 once every byte is in the guest's buffers");
        assertTrue(!device.hostOpen(STDIN));
    }

    @Test
    void end_of_input_waits_for_buffers_when_the_guest_is_behind() {
        startUp();
        skipStartUpMessages();
        driverSays(STDIN, PortControl.PORT_OPEN, 1);
        byte[] many = new byte[10 * BUFFER_SIZE]; // more than the 8 posted buffers hold
        device.receive(STDIN, many, 0, many.length);
        device.endOfInput(STDIN);
        assertNull(deviceSaid(), "bytes are still waiting: no end of file yet");
        assertTrue(device.hostOpen(STDIN));
        post(VirtioConsolePorts.receiveQueue(STDIN), 8);
        assertEquals("0 6 0", deviceSaid());
        assertEquals(0, device.pendingInput(STDIN));
    }

    @Test
    void input_that_ends_before_the_driver_is_ready_is_announced_closed() {
        device.endOfInput(STDIN);
        startUp();
        assertEquals("0 7 1 panavisor.stdin", deviceSaid());
        assertEquals("0 6 0", deviceSaid());
    }

    @Test
    void a_full_input_buffer_takes_only_what_fits() {
        startUp();
        byte[] more = new byte[VirtioConsolePorts.INPUT_CAPACITY + 10];
        assertEquals(VirtioConsolePorts.INPUT_CAPACITY, device.receive(STDIN, more, 0, more.length));
        assertThrows(IllegalArgumentException.class, () -> device.receive(STDOUT, more, 0, 1));
    }

    @Test
    void drain_serves_what_the_guest_left_in_the_output_queues() {
        startUp();
        long at = buffer();
        memory.write(at, "last words".getBytes());
        queue(VirtioConsolePorts.receiveQueue(STDOUT) + 1).add(readable(at, 10)); // published, never notified
        device.drainOutput();
        assertEquals("last words", stdout.toString());
    }
}
