package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.console.VirtioConsolePorts;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.MappedGuestMemory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CommandStreamsTest {
    final CommandStreams streams = new CommandStreams(new ByteArrayOutputStream(), new ByteArrayOutputStream());

    @Test
    void the_device_is_a_console_with_the_three_ports() {
        assertEquals(3, streams.device().deviceType());
        assertEquals(3, streams.device().readConfig(4, 4), "max_nr_ports");
        assertEquals(8, streams.device().queueCount());
    }

    @Test
    void input_before_the_device_is_on_a_machine_is_a_bug_said_plainly() {
        assertThrows(IllegalStateException.class, () -> streams.offerInput(new byte[1], 0, 1));
    }

    @Test
    void input_is_taken_until_close_and_refused_after() {
        streams.attach(new Object());
        assertEquals(4, streams.offerInput("data".getBytes(), 0, 4), "held until the guest opens the port");
        byte[] more = new byte[VirtioConsolePorts.INPUT_CAPACITY];
        assertEquals(VirtioConsolePorts.INPUT_CAPACITY - 4, streams.offerInput(more, 0, more.length));
        streams.close();
        assertEquals(0, streams.offerInput(more, 0, 1));
        streams.endInput(); // after close: nothing happens, nothing fails
        streams.drain();
    }

    /** The stdout and stderr ports' transmit queues (virtio 1.2 §5.3.2: port n's queues are 2(n+1) and 2(n+1)+1). */
    static final int STDOUT_TRANSMIT = 5;
    static final int STDERR_TRANSMIT = 7;
    static final int CHUNK = 32 * 1024;

    /**
     * The guest on a scratch memory: the device activated (as DRIVER_OK does), and {@code chunks} chunks of
     * {@link #CHUNK} bytes sent on the stdout port, each batch served as a device worker serves it, under the lock.
     */
    static final class Guest implements AutoCloseable {
        final MappedGuestMemory memory = MappedGuestMemory.allocate(1 << 20);
        final List<DriverQueue> queues = new ArrayList<>();
        final Object lock = new Object();
        final CommandStreams streams;

        Guest(CommandStreams streams) {
            this.streams = streams;
            streams.attach(lock);
            List<SplitVirtqueue> deviceQueues = new ArrayList<>();
            for (int i = 0; i < streams.device().queueCount(); i++) {
                QueueLayout layout = QueueLayout.contiguous(0x1000L * (i + 1), VirtioConsolePorts.QUEUE_SIZE);
                queues.add(new DriverQueue(memory, layout));
                deviceQueues.add(new SplitVirtqueue(memory, layout, VirtioConsolePorts.QUEUE_SIZE, false, false));
            }
            streams.device().activate(streams.device().offeredFeatures(), deviceQueues, memory,
                    PathWarmUp.NO_INTERRUPT);
        }

        /** Writes byte {@code i % 251} at offset i of each chunk on the stdout port, and serves the queue. */
        void send(int chunks) {
            send(STDOUT_TRANSMIT, chunks);
        }

        /** The same on the port whose transmit queue is {@code queue}. */
        void send(int queue, int chunks) {
            for (int c = 0; c < chunks; c++) {
                long at = 0x20000L + (long) c * CHUNK;
                byte[] bytes = new byte[CHUNK];
                for (int i = 0; i < CHUNK; i++) {
                    bytes[i] = (byte) ((c * CHUNK + i) % 251);
                }
                memory.write(at, bytes);
                queues.get(queue).add(DriverQueue.readable(at, CHUNK));
            }
            synchronized (lock) {
                streams.device().queueNotify(queue);
            }
        }

        @Override
        public void close() {
            streams.close();
            memory.close();
        }
    }

    /**
     * A host reader that stops reading holds the flusher, then the device once the buffer is full (the guest's
     * output waits, none is lost), until the host stops the VM: the device then goes on, and the run's end waits
     * for the reader no longer than the limit of a stop the host asked for.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120) // a finish that waited for the stuck reader would hang: this fails it
    void a_reader_that_stopped_reading_holds_the_device_only_until_the_host_stops_the_vm() throws Exception {
        StuckReader reader = new StuckReader();
        CommandStreams streams = new CommandStreams(reader, new ByteArrayOutputStream());
        try (Guest guest = new Guest(streams)) {
            streams.startOutput();
            Thread worker = Thread.ofPlatform().start(() -> guest.send(6)); // 192 KiB: the buffer holds 64
            assertTrue(reader.entered.await(10, TimeUnit.SECONDS), "the flusher writes");
            assertFalse(worker.join(Duration.ofMillis(300)), "a full buffer holds the device back");
            streams.stopWaiting();
            assertTrue(worker.join(Duration.ofSeconds(10)), "the device goes on once the host stops the VM");
            assertFalse(streams.finish(new Outcome.StoppedByHost("test")), "the reader never took the bytes");
        } finally {
            reader.letGo.countDown();
        }
    }

    /**
     * A run that ends by itself waits for its reader, however slow: here the reader takes nothing for longer than a
     * stop the host asks for would wait, and every byte still arrives, in order. (A finish that applied the host
     * stop's limit would return false here.)
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    void a_run_that_ends_by_itself_gives_a_slow_reader_every_byte() throws Exception {
        StuckReader reader = new StuckReader();
        CommandStreams streams = new CommandStreams(reader, new ByteArrayOutputStream());
        try (Guest guest = new Guest(streams)) {
            streams.startOutput();
            guest.send(1); // fits the buffer; the flusher takes it and waits in the reader's write
            assertTrue(reader.entered.await(10, TimeUnit.SECONDS), "the flusher writes");
            java.util.concurrent.CompletableFuture<Boolean> finished = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> streams.finish(new Outcome.Stopped("the guest's command ended")));
            Thread.sleep(Machine.HOST_STOP_OUTPUT_LIMIT.toMillis() + 500);
            assertFalse(finished.isDone(), "still waiting past the limit a stop the host asked for would have");
            reader.letGo.countDown();
            assertTrue(finished.get(), "every byte written");
        } finally {
            reader.letGo.countDown();
        }
        byte[] expected = new byte[CHUNK];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (byte) (i % 251);
        }
        assertArrayEquals(expected, reader.received.toByteArray());
    }

    /** A stop the host asks for while a finished run waits for a reader that stopped reading ends that wait. */
    @Test
    @org.junit.jupiter.api.Timeout(120) // a wait that the stop did not end would hang: this fails it
    void a_signal_during_the_wait_for_a_stalled_reader_ends_it_within_the_limit() throws Exception {
        StuckReader reader = new StuckReader();
        CommandStreams streams = new CommandStreams(reader, new ByteArrayOutputStream());
        try (Guest guest = new Guest(streams)) {
            streams.startOutput();
            guest.send(1);
            assertTrue(reader.entered.await(10, TimeUnit.SECONDS), "the flusher writes");
            java.util.concurrent.CompletableFuture<Boolean> finished = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> streams.finish(new Outcome.Stopped("the guest's command ended")));
            Thread.sleep(Machine.HOST_STOP_OUTPUT_LIMIT.toMillis() + 500);
            assertFalse(finished.isDone(), "a run that ended by itself waits for its reader");
            streams.stopWaiting(); // as the signal hook does
            assertFalse(finished.get(), "not every byte was written, and the wait ended");
        } finally {
            reader.letGo.countDown();
        }
    }

    /**
     * Writes the host's streams refuse (a reader gone) are reported once, though both streams fail, and the first is
     * the run's output error.
     */
    @Test
    void a_failed_write_on_a_flusher_is_reported_once() throws Exception {
        IOException gone = new IOException("Broken pipe");
        OutputStream closed = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw gone;
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw gone;
            }
        };
        CommandStreams streams = new CommandStreams(closed, closed);
        List<IOException> told = new ArrayList<>();
        CountDownLatch once = new CountDownLatch(1);
        streams.whenOutputFails(error -> {
            synchronized (told) {
                told.add(error);
            }
            once.countDown();
        });
        try (Guest guest = new Guest(streams)) {
            streams.startOutput();
            guest.send(STDOUT_TRANSMIT, 2);
            assertTrue(once.await(10, TimeUnit.SECONDS));
            guest.send(STDERR_TRANSMIT, 2); // the other flusher fails too
            assertTrue(streams.finish(new Outcome.Stopped("the guest's command ended")));
        }
        synchronized (told) {
            assertEquals(List.of(gone), told);
        }
        assertSame(gone, streams.outputError());
    }
}
