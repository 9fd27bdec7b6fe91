package dev.panavisor.devices.virtio.console;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.HostileDriver;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import dev.panavisor.testing.FuzzLimits;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * The multiport console that carries {@code run --exec}'s streams (virtio 1.2 §5.3, VIRTIO_CONSOLE_F_MULTIPORT)
 * against a driver that sends any control message (any port id, event and value, as often as it likes), posts
 * buffers of any size on any queue or none at all, writes on every port, and now and then fills a queue with
 * hostile descriptors; the host meanwhile offers input on the one input port.
 *
 * <p>Properties: each output port's sink gets exactly the bytes the driver sent on that port, in order; the input
 * port's buffers carry a prefix of the host's input, in order; every control message the device sends names a port
 * of the device and is one of the device's events; what the device holds for the driver stays within four
 * messages a port whatever the driver repeats (a driver saying DEVICE_READY over and over once made it grow without
 * end); a notification throws only the typed exceptions the transport turns into DEVICE_NEEDS_RESET, and
 * {@code receive} none; no host memory outside the guest's is touched.
 *
 * <p>The regression corpus, replayed by every test run, is
 * {@code src/test/resources/dev/panavisor/devices/virtio/console/VirtioConsolePortsFuzzTestInputs/}.
 */
@Tag("fuzz")
class VirtioConsolePortsFuzzTest {
    static final long MEMORY = 0x40000;
    static final int MAX_STEPS = 300;
    static final int PORTS = 3;
    static final int QUEUE_SIZE = VirtioConsolePorts.QUEUE_SIZE;
    /** Buffers live in slots of this size from {@link #BUFFERS} on, one slot per descriptor of each queue. */
    static final long BUFFERS = 0x20000;
    static final int SLOT_BYTES = 0x40;

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void each_port_carries_its_own_bytes_and_a_repeating_driver_cannot_grow_the_device(FuzzedDataProvider data) {
        GuardedGuestMemory memory = GuardedGuestMemory.scrambled(data.consumeLong(), MEMORY, 2_000_000);
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        VirtioConsolePorts device = new VirtioConsolePorts(List.of(VirtioConsolePorts.Port.input("in"),
                VirtioConsolePorts.Port.output("out", stdout), VirtioConsolePorts.Port.output("err", stderr)));
        List<DriverQueue> driver = new ArrayList<>();
        List<SplitVirtqueue> queues = new ArrayList<>();
        for (int i = 0; i < device.queueCount(); i++) {
            QueueLayout layout = QueueLayout.contiguous(0x1000 + 0x3000L * i, QUEUE_SIZE);
            driver.add(new DriverQueue(memory, layout));
            queues.add(new SplitVirtqueue(memory, layout, QUEUE_SIZE, data.consumeBoolean(), true));
        }
        RecordingInterrupt interrupt = new RecordingInterrupt();
        device.activate(device.offeredFeatures(), queues, memory, interrupt);
        ByteArrayOutputStream[] sent = {new ByteArrayOutputStream(), new ByteArrayOutputStream(),
                new ByteArrayOutputStream()};
        ByteArrayOutputStream offered = new ByteArrayOutputStream();
        ByteArrayOutputStream delivered = new ByteArrayOutputStream();
        boolean hostile = false;
        boolean ended = false;
        for (int step = 0; step < MAX_STEPS && data.remainingBytes() > 0; step++) {
            try {
                switch (data.consumeInt(0, hostile ? 4 : 5)) {
                    case 0 -> { // a control message, well formed or not, about any port, once or over and over
                        int queue = VirtioConsolePorts.CONTROL_TRANSMIT_QUEUE;
                        byte[] message = data.consumeBoolean()
                                ? PortControl.of(data.consumeInt(-1, PORTS + 1), data.consumeInt(0, 8),
                                        data.consumeInt(0, 2)).encode()
                                : data.consumeBytes(data.consumeInt(0, SLOT_BYTES));
                        for (int n = data.consumeBoolean() ? data.consumeInt(1, 16) : 1; n > 0; n--) {
                            post(driver.get(queue), memory, queue, DriverQueue.readable(0, message.length), message);
                            device.queueNotify(queue);
                        }
                    }
                    case 1 -> { // an empty buffer for the device to fill, on a receive queue
                        int queue = data.pickValue(new int[] {VirtioConsolePorts.CONTROL_RECEIVE_QUEUE,
                                VirtioConsolePorts.receiveQueue(0), VirtioConsolePorts.receiveQueue(1),
                                VirtioConsolePorts.receiveQueue(2)});
                        post(driver.get(queue), memory, queue,
                                DriverQueue.writable(0, data.consumeInt(1, SLOT_BYTES)), null);
                        device.queueNotify(queue);
                    }
                    case 2 -> { // a guest program writes on a port (on the input port its bytes go nowhere)
                        int port = data.consumeInt(0, PORTS - 1);
                        int queue = VirtioConsolePorts.receiveQueue(port) + 1;
                        byte[] bytes = data.consumeBytes(data.consumeInt(1, SLOT_BYTES));
                        if (post(driver.get(queue), memory, queue, DriverQueue.readable(0, bytes.length), bytes)) {
                            sent[port].writeBytes(bytes);
                        }
                        device.queueNotify(queue);
                    }
                    case 3 -> { // the host's input, before or after the guest has opened the port, or its end
                        if (ended) {
                            break;
                        }
                        if (data.consumeInt(0, 15) == 0) {
                            device.endOfInput(0);
                            ended = true;
                        } else {
                            byte[] bytes = data.consumeBytes(data.consumeInt(0, 200));
                            offered.write(bytes, 0, device.receive(0, bytes, 0, bytes.length));
                        }
                    }
                    case 4 -> collect(driver, memory, delivered, hostile);
                    default -> {
                        hostile = true;
                        int queue = data.consumeInt(0, driver.size() - 1);
                        HostileDriver.scribble(data, memory, driver.get(queue).layout(), MEMORY);
                        memory.writeU16(driver.get(queue).layout().availableRing() + 2, data.consumeInt(0, 0xffff));
                        device.queueNotify(queue);
                    }
                }
            } catch (VirtioException | GuestMemoryException e) {
                assertTrue(hostile, "a well-formed queue was refused: " + e.getMessage());
                break; // the transport would now set DEVICE_NEEDS_RESET
            }
            assertTrue(device.pendingControlMessages() <= 4 * PORTS,
                    device.pendingControlMessages() + " control messages held for the driver");
        }
        if (!hostile) {
            collect(driver, memory, delivered, false);
            assertArrayEquals(sent[1].toByteArray(), stdout.toByteArray(), "stdout");
            assertArrayEquals(sent[2].toByteArray(), stderr.toByteArray(), "stderr");
            byte[] in = delivered.toByteArray();
            assertArrayEquals(Arrays.copyOf(offered.toByteArray(), in.length), in, "input delivered in order");
        } else {
            assertTrue(interrupt.events.stream().filter(e -> e.startsWith("failed")).count() <= 1);
        }
        memory.assertGuardsIntact();
    }

    /**
     * Places one buffer in queue {@code queue}'s own slot for the descriptor it gets (so buffers in flight never
     * overlap), with {@code bytes} written there for a readable one; false if the queue had no free descriptor.
     */
    private static boolean post(DriverQueue queue, GuardedGuestMemory memory, int index, DriverQueue.Segment buffer,
            byte[] bytes) {
        if (queue.freeDescriptors() == 0) {
            return false;
        }
        int head = queue.place(DriverQueue.readable(0, 0)); // learns the descriptor, then rewrites it below
        long at = slot(index, head);
        if (bytes != null) {
            memory.write(at, bytes);
        }
        queue.writeDescriptor(head, at, buffer.length(), buffer.deviceWritable() ? 2 : 0, 0);
        queue.publish(head);
        return true;
    }

    private static long slot(int queue, int head) {
        return BUFFERS + ((long) queue * QUEUE_SIZE + head) * SLOT_BYTES;
    }

    /**
     * Takes back every used buffer: the input port's bytes go to {@code delivered}; each control message must be
     * one the device sends (DEVICE_ADD, PORT_NAME or PORT_OPEN) about one of its ports.
     */
    private static void collect(List<DriverQueue> driver, GuardedGuestMemory memory, ByteArrayOutputStream delivered,
            boolean hostile) {
        for (int queue = 0; queue < driver.size(); queue++) {
            for (DriverQueue.Used used = driver.get(queue).pollUsed(); used != null;
                    used = driver.get(queue).pollUsed()) {
                if (hostile || used.head() >= QUEUE_SIZE || used.writtenBytes() > SLOT_BYTES) {
                    continue; // a scribbled ring's entries say nothing about the device
                }
                byte[] bytes = memory.readBytes(slot(queue, used.head()), (int) used.writtenBytes());
                if (queue == VirtioConsolePorts.receiveQueue(0)) {
                    delivered.writeBytes(bytes);
                } else if (queue == VirtioConsolePorts.CONTROL_RECEIVE_QUEUE && bytes.length >= PortControl.SIZE) {
                    PortControl message = PortControl.decode(bytes);
                    assertTrue(message.id() >= 0 && message.id() < PORTS, "a message about port " + message.id());
                    assertTrue(message.event() == PortControl.DEVICE_ADD || message.event() == PortControl.PORT_NAME
                            || message.event() == PortControl.PORT_OPEN, "event " + message.event());
                }
            }
        }
    }
}
