package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The console flusher's end: every byte for a reader that reads, a bounded wait for one that does not. */
class ConsoleFlusherTest {
    @Test
    void finishing_shows_every_byte_written_before_it() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher console = new ConsoleWatcher(shown, false);
        ConsoleFlusher flusher = ConsoleFlusher.start(console);
        String text = "line\n".repeat(30_000); // more than the buffer holds: the writer waits for the flusher
        console.write(text.getBytes(StandardCharsets.UTF_8), 0, text.length());
        assertTrue(flusher.finish(null));
        assertEquals(text, shown.toString(StandardCharsets.UTF_8));
    }

    /**
     * A reader that has stopped reading (a full pipe) holds the flusher in its write; a finish with a limit gives up
     * at the limit, and neither it nor a close after it writes on the caller's thread.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60) // a finish or close that waited for the stuck reader would hang: this fails it
    void a_stuck_reader_holds_a_limited_finish_only_to_its_limit() throws Exception {
        StuckReader stuck = new StuckReader();
        ConsoleWatcher console = new ConsoleWatcher(stuck, false);
        ConsoleFlusher flusher = ConsoleFlusher.start(console);
        try {
            console.write('x');
            assertTrue(stuck.entered.await(10, TimeUnit.SECONDS), "the flusher writes");
            long start = System.nanoTime();
            assertFalse(flusher.finish(Duration.ofMillis(300)), "the reader never took the byte");
            // It waited for its limit (the hang guard is the test's @Timeout, not an upper bound on time).
            assertTrue((System.nanoTime() - start) / 1_000_000 >= 300, "finish gave up before its limit");
            flusher.close();
        } finally {
            stuck.letGo.countDown();
        }
    }

    /** A stream that fails with an unchecked exception (not an IOException) ends the flusher; nobody waits for it. */
    @Test
    @org.junit.jupiter.api.Timeout(60) // a writer that waited for the dead flusher would hang: this fails it
    void a_flusher_ended_by_an_unchecked_failure_leaves_no_writer_waiting_for_room() throws Exception {
        java.io.OutputStream failing = new java.io.OutputStream() {
            @Override
            public void write(int b) {
                throw new IllegalStateException("the stream broke");
            }

            @Override
            public void write(byte[] b, int off, int len) {
                throw new IllegalStateException("the stream broke");
            }
        };
        ConsoleWatcher console = new ConsoleWatcher(failing, false);
        ConsoleFlusher flusher = ConsoleFlusher.start(console);
        byte[] full = new byte[ConsoleOutput.CAPACITY * 3];
        java.util.Arrays.fill(full, (byte) 'x');
        IllegalStateException seen = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> console.write(full, 0, full.length), "the writer meets the failure instead of waiting");
        assertEquals("the stream broke", seen.getMessage());
        flusher.close();
    }
}
