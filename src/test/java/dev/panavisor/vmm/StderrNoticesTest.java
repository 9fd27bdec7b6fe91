package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The VM's notices go to stderr from a thread of their own: a stderr nobody reads holds no device's thread. */
class StderrNoticesTest {
    /** A stream whose writes wait until {@link #open} counts down: a pipe whose reader stopped reading. */
    static final class StalledStream extends OutputStream {
        final CountDownLatch open = new CountDownLatch(1);
        /** A write has begun (and waits). */
        final CountDownLatch entered = new CountDownLatch(1);
        final ByteArrayOutputStream written = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            entered.countDown();
            try {
                open.await();
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
            synchronized (this) {
                written.write(b, off, len);
            }
        }

        synchronized List<String> lines() {
            return written.toString(StandardCharsets.UTF_8).lines().toList();
        }
    }

    @Test
    void notices_reach_stderr_in_order_with_the_prefix() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StderrNotices notices = new StderrNotices(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        notices.event("first");
        notices.event("second");
        notices.close(10_000);
        assertEquals(List.of("panavisor: first", "panavisor: second"),
                bytes.toString(StandardCharsets.UTF_8).lines().toList());
    }

    /**
     * A reporter (a device's worker, holding its lock) is never held by a stderr that does not drain: past the
     * lines that wait, they are dropped and counted, and the count is said before the next line that goes out.
     */
    @Test
    void a_stderr_that_is_not_read_holds_no_reporter_and_the_dropped_lines_are_counted() throws Exception {
        StalledStream stream = new StalledStream();
        StderrNotices notices = new StderrNotices(new PrintStream(stream, true, StandardCharsets.UTF_8));
        long start = System.nanoTime();
        int sent = StderrNotices.CAPACITY + 100;
        notices.event("notice 0");
        assertTrue(stream.entered.await(10, TimeUnit.SECONDS), "the writer took the first line and stalled");
        for (int i = 1; i < sent; i++) {
            notices.event("notice " + i);
        }
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "no reporter waited for stderr");
        stream.open.countDown();
        awaitLine(stream, "panavisor: notice " + StderrNotices.CAPACITY);
        notices.event("after");
        notices.close(10_000);
        List<String> lines = stream.lines();
        // The writer had taken "notice 0" before it stalled; CAPACITY more waited; the rest were dropped, and the
        // count comes where they would have been.
        int dropped = sent - StderrNotices.CAPACITY - 1;
        assertEquals(List.of("panavisor: notice " + StderrNotices.CAPACITY,
                "panavisor: " + dropped + " notices were dropped: stderr was not read fast enough", "panavisor: after"),
                lines.subList(lines.size() - 3, lines.size()));
        assertEquals(sent - dropped + 2, lines.size());
    }

    /** Lines dropped at the end are counted at the end. */
    @Test
    void lines_dropped_last_are_counted_at_the_close() throws Exception {
        StalledStream stream = new StalledStream();
        StderrNotices notices = new StderrNotices(new PrintStream(stream, true, StandardCharsets.UTF_8));
        notices.event("notice 0");
        assertTrue(stream.entered.await(10, TimeUnit.SECONDS), "the writer took the first line and stalled");
        for (int i = 1; i < StderrNotices.CAPACITY + 3; i++) {
            notices.event("notice " + i);
        }
        stream.open.countDown();
        awaitLine(stream, "panavisor: notice " + StderrNotices.CAPACITY);
        notices.close(10_000);
        assertEquals("panavisor: 2 notices were dropped: stderr was not read fast enough", stream.lines().getLast());
    }

    /** The VM's end waits for the notices a bounded time: a reader that never reads costs that long at most. */
    @Test
    void closing_waits_for_a_stalled_stderr_only_until_its_limit() {
        StalledStream stream = new StalledStream();
        StderrNotices notices = new StderrNotices(new PrintStream(stream, true, StandardCharsets.UTF_8));
        notices.event("never read");
        long start = System.nanoTime();
        notices.close(300);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(millis >= 250 && millis < 5_000, millis + " ms");
        notices.event("after the end"); // dropped, and nothing waits
        stream.open.countDown();
    }

    private static void awaitLine(StalledStream stream, String line) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!stream.lines().contains(line)) {
            assertTrue(System.nanoTime() < deadline, "never written: " + line);
            Thread.sleep(5);
        }
    }
}
