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
import java.util.concurrent.atomic.AtomicInteger;
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

    /** The stdout port's transmit queue (virtio 1.2 §5.3.2: port 1's queues are 4 and 5). */
    static final int STDOUT_TRANSMIT = 5;
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

        /** Writes byte {@code i % 251} at offset i of each chunk, and serves the queue. */
        void send(int chunks) {
            for (int c = 0; c < chunks; c++) {
                long at = 0x20000L + (long) c * CHUNK;
                byte[] bytes = new byte[CHUNK];
                for (int i = 0; i < CHUNK; i++) {
                    bytes[i] = (byte) ((c * CHUNK + i) % 251);
                }
                memory.write(at, bytes);
                queues.get(STDOUT_TRANSMIT).add(DriverQueue.readable(at, CHUNK));
            }
            synchronized (lock) {
                streams.device().queueNotify(STDOUT_TRANSMIT);
            }
        }

        @Override
        public void close() {
            streams.close();
            memory.close();
        }
    }

    /** A reader that takes nothing until {@link #letGo} counts down; it counts what it was given. */
    static final class StuckReader extends OutputStream {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch letGo = new CountDownLatch(1);
        final AtomicInteger taken = new AtomicInteger();

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            entered.countDown();
            try {
                letGo.await();
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
            taken.addAndGet(len);
        }
    }

    /**
     * A host reader that stops reading holds the flusher, then the device once the buffer is full (the guest's
     * output waits, none is lost), until the host stops the VM: the device then goes on, and the run's end waits
     * for the reader no longer than the limit of a stop the host asked for.
     */
    @Test
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
            long start = System.nanoTime();
            assertFalse(streams.finish(new Outcome.StoppedByHost("test")), "the reader never took the bytes");
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < Machine.HOST_STOP_OUTPUT_LIMIT.toMillis() + 5_000, millis + " ms");
        } finally {
            reader.letGo.countDown();
        }
    }

    /** A run that ends by itself waits for a slow reader: every byte arrives, in order. */
    @Test
    void a_run_that_ends_by_itself_gives_a_slow_reader_every_byte() throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        OutputStream slow = new OutputStream() {
            @Override
            public void write(int b) {
                got.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                got.write(b, off, len);
            }
        };
        CommandStreams streams = new CommandStreams(slow, new ByteArrayOutputStream());
        try (Guest guest = new Guest(streams)) {
            streams.startOutput();
            guest.send(6);
            assertTrue(streams.finish(new Outcome.Stopped("the guest's command ended")));
        }
        byte[] expected = new byte[6 * CHUNK];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (byte) (i % 251);
        }
        assertArrayEquals(expected, got.toByteArray());
    }

    /** A write the host's stream refuses (a reader gone) is reported once, and is the run's output error. */
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
        CommandStreams streams = new CommandStreams(closed, new ByteArrayOutputStream());
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
            guest.send(2);
            assertTrue(once.await(10, TimeUnit.SECONDS));
            guest.send(2);
            assertTrue(streams.finish(new Outcome.Stopped("the guest's command ended")));
        }
        synchronized (told) {
            assertEquals(List.of(gone), told);
        }
        assertSame(gone, streams.outputError());
    }
}
