package dev.panavisor.devices.virtio.console;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.HostileDriver;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import dev.panavisor.testing.Fuzz;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The virtio console (virtio 1.2 §5.3) between a typing user and a driver that posts receive and transmit buffers
 * of any shape, in any order, and now and then fills a queue with hostile descriptors.
 *
 * <p>Properties: output is exactly the bytes of the transmit buffers, in order; input reaches the guest in order,
 * without loss or duplication, up to the first hostile queue; {@code receive} (called from the VMM's input thread,
 * with no transport on the stack) never throws but reports a malformed queue through {@code deviceFailed}; a
 * notification throws only the typed exceptions the transport turns into DEVICE_NEEDS_RESET; no host memory outside
 * the guest's is touched.
 */
@Tag("fuzz")
class VirtioConsoleFuzzTest {
    static final long MEMORY = 0x10000;

    @Test
    void output_and_input_arrive_in_order_and_hostile_queues_become_a_reported_failure() {
        Fuzz.run("virtio-console", 1500, VirtioConsoleFuzzTest::oneCase);
    }

    static void oneCase(Random random) {
        GuardedGuestMemory memory = GuardedGuestMemory.scrambled(random, MEMORY, 2_000_000);
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        VirtioConsole console = new VirtioConsole(output);
        QueueLayout rxLayout = QueueLayout.contiguous(0x1000, VirtioConsole.QUEUE_SIZE);
        QueueLayout txLayout = QueueLayout.contiguous(0x2000, VirtioConsole.QUEUE_SIZE);
        DriverQueue rx = new DriverQueue(memory, rxLayout);
        DriverQueue tx = new DriverQueue(memory, txLayout);
        RecordingInterrupt interrupt = new RecordingInterrupt();
        console.activate(console.offeredFeatures(), List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioConsole.QUEUE_SIZE, random.nextBoolean(), true),
                new SplitVirtqueue(memory, txLayout, VirtioConsole.QUEUE_SIZE, random.nextBoolean(), true)),
                memory, interrupt);
        ByteArrayOutputStream typed = new ByteArrayOutputStream();
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        long[] rxBuffers = new long[VirtioConsole.QUEUE_SIZE];
        boolean hostile = false;
        for (int step = 30 + random.nextInt(100); step > 0; step--) {
            try {
                switch (random.nextInt(hostile ? 4 : 5)) {
                    case 0 -> {
                        byte[] bytes = new byte[random.nextInt(200)];
                        random.nextBytes(bytes);
                        typed.write(bytes, 0, console.receive(bytes, 0, bytes.length));
                    }
                    case 1 -> {
                        if (rx.freeDescriptors() > 0) {
                            long address = 0x4000 + 0x100L * random.nextInt(64);
                            int head = rx.add(DriverQueue.writable(address, 1 + random.nextInt(0x100)));
                            rxBuffers[head] = address;
                            console.queueNotify(VirtioConsole.RECEIVE_QUEUE);
                        }
                    }
                    case 2 -> {
                        if (tx.freeDescriptors() > 2) {
                            byte[] bytes = new byte[1 + random.nextInt(300)];
                            random.nextBytes(bytes);
                            long at = 0xa000 + 0x200L * random.nextInt(16);
                            int split = random.nextInt(bytes.length + 1);
                            memory.write(at, bytes);
                            tx.add(DriverQueue.readable(at, split), DriverQueue.readable(at + split, bytes.length - split));
                            sent.write(bytes, 0, bytes.length);
                            console.queueNotify(VirtioConsole.TRANSMIT_QUEUE);
                        }
                    }
                    case 3 -> {
                        for (DriverQueue.Used used = rx.pollUsed(); used != null; used = rx.pollUsed()) {
                            received.writeBytes(memory.readBytes(rxBuffers[used.head()], (int) used.writtenBytes()));
                        }
                        while (tx.pollUsed() != null) {
                            // returned transmit buffers carry nothing back
                        }
                    }
                    default -> {
                        hostile = true;
                        QueueLayout layout = random.nextBoolean() ? rxLayout : txLayout;
                        HostileDriver.scribble(random, memory, layout, MEMORY);
                        memory.writeU16(layout.availableRing() + 2, random.nextInt(65536));
                        console.queueNotify(layout == rxLayout ? VirtioConsole.RECEIVE_QUEUE
                                : VirtioConsole.TRANSMIT_QUEUE);
                    }
                }
            } catch (VirtioException | GuestMemoryException e) {
                assertTrue(hostile, "a well-formed queue was refused: " + e.getMessage());
                break; // the transport would now set DEVICE_NEEDS_RESET
            }
        }
        if (!hostile) {
            assertArrayEquals(sent.toByteArray(), output.toByteArray(), "console output");
            byte[] in = received.toByteArray();
            byte[] all = typed.toByteArray();
            assertArrayEquals(java.util.Arrays.copyOf(all, in.length), in, "input delivered in order");
            assertEquals(all.length, in.length + console.pendingInput() + bytesInFlight(rx, memory, rxBuffers));
        } else {
            assertTrue(interrupt.events.stream().filter(e -> e.startsWith("failed")).count() <= 1);
        }
        memory.assertGuardsIntact();
    }

    /** Input already placed in used receive buffers the test has not collected yet. */
    private static long bytesInFlight(DriverQueue rx, GuardedGuestMemory memory, long[] rxBuffers) {
        long bytes = 0;
        for (DriverQueue.Used used = rx.pollUsed(); used != null; used = rx.pollUsed()) {
            bytes += memory.readBytes(rxBuffers[used.head()], (int) used.writtenBytes()).length;
        }
        return bytes;
    }
}
