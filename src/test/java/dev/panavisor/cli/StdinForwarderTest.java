package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class StdinForwarderTest {
    /** A device input buffer that is often full: takes at most 1000 bytes, and nothing every third offer. */
    static final class SlowSink implements StdinForwarder.Sink {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();
        int offers;

        @Override
        public int offer(byte[] bytes, int offset, int length) {
            if (++offers % 3 == 0) {
                return 0;
            }
            int n = Math.min(1000, length);
            got.write(bytes, offset, n);
            return n;
        }
    }

    @Test
    void a_mebibyte_arrives_whole_and_in_order_then_the_end() {
        byte[] data = new byte[1 << 20];
        new Random(13).nextBytes(data);
        SlowSink sink = new SlowSink();
        AtomicInteger ends = new AtomicInteger();
        StdinForwarder.pump(new ByteArrayInputStream(data), sink, () -> {
            assertEquals(data.length, sink.got.size(), "the end comes after the last byte");
            ends.incrementAndGet();
        }, () -> true);
        assertArrayEquals(data, sink.got.toByteArray());
        assertEquals(1, ends.get());
    }

    @Test
    void empty_input_is_an_immediate_end() {
        SlowSink sink = new SlowSink();
        AtomicInteger ends = new AtomicInteger();
        StdinForwarder.pump(InputStream.nullInputStream(), sink, ends::incrementAndGet, () -> true);
        assertEquals(0, sink.got.size());
        assertEquals(1, ends.get());
    }

    @Test
    void a_failing_stdin_ends_the_input_instead_of_leaving_the_command_waiting() {
        InputStream broken = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("Bad file descriptor");
            }
        };
        AtomicInteger ends = new AtomicInteger();
        StdinForwarder.pump(broken, new SlowSink(), ends::incrementAndGet, () -> true);
        assertEquals(1, ends.get());
    }

    @Test
    void a_stopped_vm_takes_no_more_bytes() throws InterruptedException {
        SlowSink sink = new SlowSink();
        StdinForwarder.deliver(sink, () -> false, new byte[10], 0, 10);
        assertTrue(sink.got.size() == 0 && sink.offers == 0);
    }
}
