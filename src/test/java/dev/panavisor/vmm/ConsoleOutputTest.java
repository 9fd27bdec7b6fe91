package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.ThreadStates;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The console's buffer between the devices and the user's stream: a reader that stops reading holds nobody. */
class ConsoleOutputTest {
    /**
     * The flusher is stuck in a write: a device still puts a whole buffer's worth without waiting, then waits for
     * room (nothing lost), and a stopping VM ends that wait.
     */
    @Test
    void a_stuck_reader_holds_the_flusher_and_a_device_only_once_the_buffer_is_full() throws Exception {
        StuckReader reader = new StuckReader();
        ConsoleOutput output = new ConsoleOutput(reader);
        output.flushedBy(true);
        output.write(new byte[] {'a'}, 0, 1);
        Thread flusher = Thread.ofPlatform().daemon().start(() -> {
            try {
                output.drain();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertTrue(reader.entered.await(10, TimeUnit.SECONDS), "the flusher writes");

        AtomicInteger put = new AtomicInteger();
        CountDownLatch deviceDone = new CountDownLatch(1);
        Thread device = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (int i = 0; i < ConsoleOutput.CAPACITY + 10; i++) {
                    output.write(new byte[] {'b'}, 0, 1);
                    put.incrementAndGet();
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            deviceDone.countDown();
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (put.get() < ConsoleOutput.CAPACITY && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(ConsoleOutput.CAPACITY, put.get(), "a full buffer's worth went in while the reader was stuck");
        assertFalse(deviceDone.await(200, TimeUnit.MILLISECONDS), "then the device waits for room");
        assertEquals(ConsoleOutput.CAPACITY, put.get());

        output.stopWaiting();
        assertTrue(deviceDone.await(10, TimeUnit.SECONDS), "a stopping VM's device no longer waits");
        reader.letGo.countDown();
        flusher.join();
        output.drainAll();
        byte[] expected = new byte[1 + ConsoleOutput.CAPACITY];
        java.util.Arrays.fill(expected, (byte) 'b');
        expected[0] = 'a';
        assertArrayEquals(expected, reader.received.toByteArray(), "what went in came out; the rest was dropped");
        device.join();
    }

    /**
     * Once a stopping VM has dropped a byte for want of room, later bytes are dropped too, even when there is room
     * again: the output ends there, as a killed program's does, and never goes on after a hole.
     */
    @Test
    void after_a_stopping_vms_first_dropped_byte_nothing_more_goes_in() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleOutput output = new ConsoleOutput(shown, 4);
        output.flushedBy(true);
        output.write("ab".getBytes(), 0, 2);
        output.stopWaiting();
        output.write("cdef".getBytes(), 0, 4); // c and d fit, e and f find no room
        output.drain(); // room again
        output.write("gh".getBytes(), 0, 2);
        output.flushedBy(false);
        output.drainAll();
        assertEquals("abcd", shown.toString());
    }

    /** Before the stop, a device that waited for room goes on as soon as the reader reads again. */
    @Test
    void a_device_waiting_for_room_goes_on_when_the_reader_reads() throws Exception {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleOutput output = new ConsoleOutput(shown);
        output.flushedBy(true);
        byte[] text = new byte[ConsoleOutput.CAPACITY * 3 + 123];
        new Random(7).nextBytes(text);
        Thread device = Thread.ofPlatform().daemon().start(() -> {
            try {
                output.write(text, 0, text.length);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (shown.size() < text.length && System.nanoTime() < deadline) {
            output.drain(); // the flusher's part, without its waits
            Thread.onSpinWait();
        }
        device.join();
        assertArrayEquals(text, shown.toByteArray(), "every byte, in order, over many fillings of the buffer");
    }

    /** Without a flusher (a VM not running yet, a test), a full buffer is written out by the one who fills it. */
    @Test
    void without_a_flusher_a_full_buffer_is_written_by_its_writer() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleOutput output = new ConsoleOutput(shown);
        byte[] text = new byte[ConsoleOutput.CAPACITY * 2 + 5];
        new Random(8).nextBytes(text);
        output.write(text, 0, 7);
        output.write(text, 7, text.length - 7);
        assertEquals(ConsoleOutput.CAPACITY * 2, shown.size(), "two full buffers written out on the way");
        output.flush();
        assertArrayEquals(text, shown.toByteArray());
    }

    /** A user's stream that fails (a closed pipe): the error reaches the flusher once, later bytes are dropped. */
    @Test
    void a_failed_stream_drops_what_follows_and_never_blocks_a_device() throws IOException {
        AtomicInteger writes = new AtomicInteger();
        ConsoleOutput output = new ConsoleOutput(new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                writes.incrementAndGet();
                throw new IOException("Broken pipe");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                write(0);
            }
        });
        output.flushedBy(true);
        output.write(new byte[] {'x'}, 0, 1);
        assertThrows(IOException.class, output::drain);
        byte[] more = new byte[ConsoleOutput.CAPACITY * 2];
        output.write(more, 0, more.length); // would wait for room without end if it were kept
        output.drain();
        assertEquals(1, writes.get(), "nothing written after the failure");
    }

    /**
     * The flusher lets output gather for a period before it shows it; told to finish, it stops gathering at once
     * rather than sleeping out the period (an {@code --exec} run ends right after the init's last console line).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void the_flusher_stops_gathering_when_told_to_finish() throws Exception {
        ConsoleOutput output = new ConsoleOutput(new ByteArrayOutputStream());
        Thread flusher = flusherGatheringForAnHour(output);
        output.endWaits();
        flusher.join(TimeUnit.SECONDS.toMillis(30));
        assertFalse(flusher.isAlive(), "still gathering an hour's output after endWaits");
        output.gather(TimeUnit.HOURS.toMillis(1)); // and later gathers return at once
    }

    /**
     * A full buffer ends the flusher's gathering at once: a guest printing fast waits for its terminal, not for the
     * rest of each 10 ms period (which capped the console at 16 KiB per period, about 1.6 MB/s).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void the_flusher_stops_gathering_when_the_buffer_fills() throws Exception {
        ConsoleOutput output = new ConsoleOutput(new ByteArrayOutputStream());
        Thread flusher = flusherGatheringForAnHour(output);
        output.write(new byte[ConsoleOutput.CAPACITY - 1], 0, ConsoleOutput.CAPACITY - 1);
        flusher.join(TimeUnit.SECONDS.toMillis(30));
        assertFalse(flusher.isAlive(), "still gathering with the buffer full");
        output.endWaits();
    }

    /**
     * A flusher thread that has seen the first byte (written here) and now gathers for an hour: it is returned once
     * it sleeps in gather's timed wait, so what the test does next ends a wait under way, not one yet to begin
     * (which gather's own checks would skip).
     */
    private static Thread flusherGatheringForAnHour(ConsoleOutput output) throws Exception {
        output.flushedBy(true);
        output.write(new byte[] {'x'}, 0, 1);
        Thread flusher = Thread.ofPlatform().start(() -> {
            try {
                output.awaitBytes();
                output.gather(TimeUnit.HOURS.toMillis(1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        ThreadStates.awaitWaitingIn(flusher, Thread.State.TIMED_WAITING, ConsoleOutput.class, "gather");
        return flusher;
    }
}
