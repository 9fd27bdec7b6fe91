package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The keyboard's path to the guest console, and Ctrl-A x, which must get through whatever the guest does. */
class ConsoleInputTest {
    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A keyboard whose reads return these chunks, one per read, then end of input. */
    private static InputStream reads(byte[]... chunks) {
        return new InputStream() {
            private int next;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (next == chunks.length) {
                    return -1;
                }
                byte[] chunk = chunks[next++];
                System.arraycopy(chunk, 0, b, off, chunk.length);
                return chunk.length;
            }
        };
    }

    /**
     * A guest that takes no input (its UART's FIFO full, or its device's lock held): the keys wait for it, and the
     * Ctrl-A x typed after them still stops the VM. (With one thread for both, the reader waited on the first key
     * that found no room and never read the Ctrl-A x.)
     */
    @Test
    void ctrl_a_x_stops_the_vm_while_typed_keys_wait_for_a_guest_that_takes_none() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        CountDownLatch stopped = new CountDownLatch(1);
        BlockingQueue<byte[]> typed = new ArrayBlockingQueue<>(ConsoleInput.QUEUED_READS);
        Thread typist = Thread.ofPlatform().daemon().start(
                () -> ConsoleInput.type(typed, (b, off, len) -> 0, running::get)); // no room, ever
        InputStream keyboard = reads(bytes("k".repeat(200)), bytes("\u0001x")); // 200 keys, then Ctrl-A x
        Thread reader = Thread.ofPlatform().daemon().start(() -> ConsoleInput.pump(keyboard, running::get, () -> {
            running.set(false);
            stopped.countDown();
        }, typed));
        assertTrue(stopped.await(10, TimeUnit.SECONDS), "Ctrl-A x was read and stopped the VM");
        reader.join(10_000);
        typist.join(10_000);
        assertTrue(!typist.isAlive(), "the typist ends with the VM");
    }

    /** A queue full of keys the guest never took: later keys are dropped, and Ctrl-A x is still read. */
    @Test
    void a_full_queue_drops_keys_and_never_holds_the_reader() {
        AtomicBoolean running = new AtomicBoolean(true);
        BlockingQueue<byte[]> typed = new ArrayBlockingQueue<>(2); // nobody takes from it
        boolean[] stopped = {false};
        ConsoleInput.pump(reads(bytes("a"), bytes("b"), bytes("c"), bytes("d"), bytes("\u0001x")), running::get,
                () -> stopped[0] = true, typed);
        assertTrue(stopped[0], "Ctrl-A x read after the queue filled");
        assertEquals(2, typed.size());
        assertArrayEquals(bytes("a"), typed.poll());
        assertArrayEquals(bytes("b"), typed.poll());
    }

    /** Keys reach the console in order; Ctrl-A Ctrl-A types one Ctrl-A, also across two reads. */
    @Test
    void keys_arrive_in_order_and_a_doubled_escape_types_one() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        BlockingQueue<byte[]> typed = new ArrayBlockingQueue<>(ConsoleInput.QUEUED_READS);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        byte[] input = bytes("ls\r\u0001\u0001a" + "b".repeat(ConsoleInput.READ_SIZE) + "\u0001");
        ConsoleInput.pump(new ByteArrayInputStream(input), running::get, () -> { }, typed);
        ByteArrayOutputStream queued = new ByteArrayOutputStream();
        for (byte[] keys : typed) {
            queued.write(keys);
        }
        assertArrayEquals(bytes("ls\r\u0001a" + "b".repeat(ConsoleInput.READ_SIZE)), queued.toByteArray(),
                "a trailing lone Ctrl-A waits for its next key");

        // A lone Ctrl-A ending one read, then a full read of other keys: the Ctrl-A and all of them (one more byte
        // than a read holds).
        typed.clear();
        InputStream twoReads = reads(bytes("\u0001"), bytes("d" + "c".repeat(ConsoleInput.READ_SIZE - 1)));
        ConsoleInput.pump(twoReads, running::get, () -> { }, typed);
        Thread typist = Thread.ofPlatform().daemon().start(() -> ConsoleInput.type(typed, (b, off, len) -> {
            console.write(b, off, len);
            return len;
        }, running::get));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (console.size() < ConsoleInput.READ_SIZE + 1 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        running.set(false);
        typist.join(10_000);
        assertTrue(!typist.isAlive(), "the typist ends with the VM, its queue empty");
        assertEquals("\u0001d" + "c".repeat(ConsoleInput.READ_SIZE - 1), console.toString(StandardCharsets.ISO_8859_1));
    }
}
