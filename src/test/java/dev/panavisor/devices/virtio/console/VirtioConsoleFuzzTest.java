package dev.panavisor.devices.virtio.console;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * The virtio console (virtio 1.2 §5.3) between a typing user and a driver that posts receive and transmit buffers
 * of any shape, in any order, and now and then fills a queue with hostile descriptors.
 *
 * <p>Properties: output is exactly the bytes of the transmit buffers, in order; input reaches the guest in order,
 * without loss or duplication, up to the first hostile queue; {@code receive} (called from the VMM's input thread,
 * with no transport on the stack) never throws but reports a malformed queue through {@code deviceFailed}; a
 * notification throws only the typed exceptions the transport turns into DEVICE_NEEDS_RESET; no host memory outside
 * the guest's is touched.
 *
 * <p>Jazzer chooses every step from its input; the regression corpus, replayed by every test run, is
 * {@code src/test/resources/dev/panavisor/devices/virtio/console/VirtioConsoleFuzzTestInputs/}.
 */
@Tag("fuzz")
class VirtioConsoleFuzzTest {
    static final long MEMORY = 0x10000;
    /** Bounds one input's work, whatever its length. */
    static final int MAX_STEPS = 300;
    /** Receive buffers live in one of these slots of guest memory, one buffer per slot. */
    static final long RX_BUFFERS = 0x4000;
    static final long RX_SLOT_BYTES = 0x100;
    static final int RX_SLOTS = VirtioConsole.QUEUE_SIZE;

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void output_and_input_arrive_in_order_and_hostile_queues_become_a_reported_failure(FuzzedDataProvider data) {
        GuardedGuestMemory memory = GuardedGuestMemory.scrambled(data.consumeLong(), MEMORY, 2_000_000);
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        VirtioConsole console = new VirtioConsole(output);
        QueueLayout rxLayout = QueueLayout.contiguous(0x1000, VirtioConsole.QUEUE_SIZE);
        QueueLayout txLayout = QueueLayout.contiguous(0x2000, VirtioConsole.QUEUE_SIZE);
        DriverQueue rx = new DriverQueue(memory, rxLayout);
        DriverQueue tx = new DriverQueue(memory, txLayout);
        RecordingInterrupt interrupt = new RecordingInterrupt();
        console.activate(console.offeredFeatures(), List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioConsole.QUEUE_SIZE, data.consumeBoolean(), true),
                new SplitVirtqueue(memory, txLayout, VirtioConsole.QUEUE_SIZE, data.consumeBoolean(), true)),
                memory, interrupt);
        ByteArrayOutputStream typed = new ByteArrayOutputStream();
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        long[] rxBuffers = new long[VirtioConsole.QUEUE_SIZE];
        // A driver never posts two receive buffers that overlap while both are in flight (a fuzz finding: with two
        // at one address the second's bytes overwrote the first's before the test read it).
        boolean[] slotInFlight = new boolean[RX_SLOTS];
        boolean hostile = false;
        for (int step = 0; step < MAX_STEPS && data.remainingBytes() > 0; step++) {
            try {
                switch (data.consumeInt(0, hostile ? 3 : 4)) {
                    case 0 -> {
                        byte[] bytes = data.consumeBytes(data.consumeInt(0, 199));
                        typed.write(bytes, 0, console.receive(bytes, 0, bytes.length));
                    }
                    case 1 -> {
                        int slot = freeSlot(slotInFlight, data.consumeInt(0, RX_SLOTS - 1));
                        if (rx.freeDescriptors() > 0 && slot >= 0) {
                            slotInFlight[slot] = true;
                            long address = RX_BUFFERS + RX_SLOT_BYTES * slot;
                            int head = rx.add(DriverQueue.writable(address, data.consumeInt(1, (int) RX_SLOT_BYTES)));
                            rxBuffers[head] = address;
                            console.queueNotify(VirtioConsole.RECEIVE_QUEUE);
                        }
                    }
                    case 2 -> {
                        if (tx.freeDescriptors() > 2) {
                            byte[] bytes = data.consumeBytes(data.consumeInt(1, 300));
                            long at = 0xa000 + 0x200L * data.consumeInt(0, 15);
                            int split = data.consumeInt(0, bytes.length);
                            memory.write(at, bytes);
                            tx.add(DriverQueue.readable(at, split),
                                    DriverQueue.readable(at + split, bytes.length - split));
                            sent.write(bytes, 0, bytes.length);
                            console.queueNotify(VirtioConsole.TRANSMIT_QUEUE);
                        }
                    }
                    case 3 -> {
                        for (DriverQueue.Used used = rx.pollUsed(); used != null; used = rx.pollUsed()) {
                            received.writeBytes(memory.readBytes(rxBuffers[used.head()], (int) used.writtenBytes()));
                            long slot = (rxBuffers[used.head()] - RX_BUFFERS) / RX_SLOT_BYTES;
                            if (slot >= 0 && slot < RX_SLOTS) { // a hostile ring may return a head never posted
                                slotInFlight[(int) slot] = false;
                            }
                        }
                        while (tx.pollUsed() != null) {
                            // returned transmit buffers carry nothing back
                        }
                    }
                    default -> {
                        hostile = true;
                        QueueLayout layout = data.consumeBoolean() ? rxLayout : txLayout;
                        HostileDriver.scribble(data, memory, layout, MEMORY);
                        memory.writeU16(layout.availableRing() + 2, data.consumeInt(0, 0xffff));
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

    /** The first slot from {@code first} on (wrapping) with no receive buffer in flight, or -1 if none. */
    private static int freeSlot(boolean[] inFlight, int first) {
        for (int i = 0; i < inFlight.length; i++) {
            int slot = (first + i) % inFlight.length;
            if (!inFlight[slot]) {
                return slot;
            }
        }
        return -1;
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
