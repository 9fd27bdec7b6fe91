package dev.panavisor.devices.virtio.console;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class VirtioConsoleTest {
    static final long RX_BUFFERS = 0x10000;
    static final long TX_BUFFERS = 0x20000;

    final GuestMemory memory = new HeapGuestMemory(1 << 20);
    final ByteArrayOutputStream sink = new ByteArrayOutputStream();
    final VirtioConsole console = new VirtioConsole(sink);
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    final List<String> interrupts = interrupt.events;
    DriverQueue rx;
    DriverQueue tx;

    void activate(boolean eventIdx) {
        QueueLayout rxLayout = QueueLayout.contiguous(0x1000, VirtioConsole.QUEUE_SIZE);
        QueueLayout txLayout = QueueLayout.contiguous(0x4000, VirtioConsole.QUEUE_SIZE);
        rx = new DriverQueue(memory, rxLayout);
        tx = new DriverQueue(memory, txLayout);
        console.activate(console.offeredFeatures(), List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioConsole.QUEUE_SIZE, eventIdx, false),
                new SplitVirtqueue(memory, txLayout, VirtioConsole.QUEUE_SIZE, eventIdx, false)), memory, interrupt);
    }

    void type(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        console.receive(bytes, 0, bytes.length);
    }

    /** Posts {@code count} receive buffers of {@code size} bytes, as the guest driver does, and notifies. */
    void postReceiveBuffers(int count, int size) {
        for (int i = 0; i < count; i++) {
            rx.add(writable(RX_BUFFERS + 0x100L * (rx.availIdx() % 64), size));
        }
        console.queueNotify(VirtioConsole.RECEIVE_QUEUE);
    }

    /** Takes one used receive buffer and returns the text in it. */
    String takeReceived() {
        DriverQueue.Used used = rx.pollUsed();
        if (used == null) {
            return null;
        }
        long address = memory.readU64(rx.layout().descriptorTable() + 16L * used.head());
        return new String(memory.readBytes(address, (int) used.writtenBytes()), StandardCharsets.US_ASCII);
    }

    @Test
    void guest_output_reaches_the_sink_in_order() {
        activate(false);
        memory.write(TX_BUFFERS, "hello ".getBytes(StandardCharsets.US_ASCII));
        memory.write(TX_BUFFERS + 0x100, "wor".getBytes(StandardCharsets.US_ASCII));
        memory.write(TX_BUFFERS + 0x200, "ld\n".getBytes(StandardCharsets.US_ASCII));
        tx.add(readable(TX_BUFFERS, 6));
        tx.add(readable(TX_BUFFERS + 0x100, 3), readable(TX_BUFFERS + 0x200, 3));
        console.queueNotify(VirtioConsole.TRANSMIT_QUEUE);

        assertEquals("hello world\n", sink.toString(StandardCharsets.US_ASCII));
        assertEquals(0, tx.pollUsed().writtenBytes());
        assertEquals(0, tx.pollUsed().writtenBytes());
        assertNull(tx.pollUsed());
        assertEquals(List.of("used"), interrupts);
    }

    /**
     * A driver that publishes a receive buffer and takes it back again and again (another vCPU writing the available
     * index back and forth): the device acts on what its pop finds. It used to check for a chain first and then pop,
     * and a pop that found the chain gone was a NullPointerException that ended the VMM.
     */
    @Test
    void a_driver_that_takes_back_its_buffer_gets_the_input_later() {
        GuardedGuestMemory flickering = new GuardedGuestMemory(1 << 20);
        QueueLayout rxLayout = QueueLayout.contiguous(0x1000, VirtioConsole.QUEUE_SIZE);
        QueueLayout txLayout = QueueLayout.contiguous(0x4000, VirtioConsole.QUEUE_SIZE);
        DriverQueue receive = new DriverQueue(flickering, rxLayout);
        new DriverQueue(flickering, txLayout);
        console.activate(console.offeredFeatures(), List.of(
                new SplitVirtqueue(flickering, rxLayout, VirtioConsole.QUEUE_SIZE, false, false),
                new SplitVirtqueue(flickering, txLayout, VirtioConsole.QUEUE_SIZE, false, false)), flickering,
                interrupt);
        receive.add(writable(RX_BUFFERS, 64));
        flickering.flicker(rxLayout.availableRing() + 2);
        type("x");
        DriverQueue.Used used = receive.pollUsed();
        assertNotNull(used, "the buffer the device popped is filled");
        assertEquals("x", new String(flickering.readBytes(RX_BUFFERS, (int) used.writtenBytes()),
                StandardCharsets.US_ASCII));
        assertTrue(interrupt.events.stream().noneMatch(e -> e.startsWith("failed")), interrupt.events.toString());
    }

    @Test
    void typed_input_waits_until_the_driver_posts_buffers() {
        type("early"); // before the driver even exists
        activate(false);
        type("ls\n");
        assertEquals(8, console.pendingInput());
        assertNull(takeReceived());
        assertTrue(interrupts.isEmpty());

        postReceiveBuffers(1, 64);
        assertEquals("earlyls\n", takeReceived());
        assertEquals(0, console.pendingInput());
        assertEquals(List.of("used"), interrupts);
    }

    @Test
    void input_is_delivered_at_once_when_buffers_are_already_posted() {
        activate(false);
        postReceiveBuffers(2, 64);
        assertNull(takeReceived(), "no input yet: buffers stay with the device");
        type("x");
        assertEquals("x", takeReceived());
        type("yz");
        assertEquals("yz", takeReceived());
        assertEquals(List.of("used", "used"), interrupts);
    }

    @Test
    void input_larger_than_a_buffer_is_split_across_buffers_and_the_rest_waits() {
        activate(false);
        postReceiveBuffers(2, 4);
        type("0123456789");
        assertEquals("0123", takeReceived());
        assertEquals("4567", takeReceived());
        assertNull(takeReceived());
        assertEquals(2, console.pendingInput());
        postReceiveBuffers(1, 4);
        assertEquals("89", takeReceived());
        assertEquals(0, console.pendingInput());
    }

    @Test
    void with_event_idx_the_device_asks_to_be_notified_when_it_runs_out_of_buffers() {
        activate(true);
        postReceiveBuffers(1, 8);
        type("abc");
        assertEquals("abc", takeReceived());
        type("def"); // no buffer left: the device must hear about the next one
        assertEquals(rx.availIdx(), rx.availEvent());
        postReceiveBuffers(1, 8);
        assertEquals("def", takeReceived());
    }

    @Test
    void input_beyond_the_buffer_capacity_is_dropped_and_counted() {
        byte[] flood = new byte[VirtioConsole.INPUT_CAPACITY + 100];
        console.receive(flood, 0, flood.length);
        assertEquals(VirtioConsole.INPUT_CAPACITY, console.pendingInput());
        assertEquals(100, console.droppedInput());
    }

    @Test
    void a_failing_sink_loses_output_but_the_guest_gets_its_buffers_back() {
        VirtioConsole broken = new VirtioConsole(new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("stdout closed");
            }
        });
        QueueLayout rxLayout = QueueLayout.contiguous(0x1000, VirtioConsole.QUEUE_SIZE);
        QueueLayout txLayout = QueueLayout.contiguous(0x4000, VirtioConsole.QUEUE_SIZE);
        tx = new DriverQueue(memory, txLayout);
        broken.activate(broken.offeredFeatures(), List.of(
                new SplitVirtqueue(memory, rxLayout, VirtioConsole.QUEUE_SIZE, false, false),
                new SplitVirtqueue(memory, txLayout, VirtioConsole.QUEUE_SIZE, false, false)), memory, interrupt);
        tx.add(readable(TX_BUFFERS, 5));
        broken.queueNotify(VirtioConsole.TRANSMIT_QUEUE);
        assertNotNull(tx.pollUsed());
        assertEquals("stdout closed", broken.outputError().getMessage());
    }

    @Test
    void a_hostile_receive_buffer_fails_the_device_without_throwing_into_the_input_thread() {
        activate(false);
        rx.add(writable(memory.size() - 2, 64));
        type("boom");
        assertEquals(1, interrupts.size());
        assertTrue(interrupts.getFirst().startsWith("failed: "), interrupts.toString());
        type("more"); // ignored until reset
        assertEquals(1, interrupts.size());
    }
}
