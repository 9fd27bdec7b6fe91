package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PrintkReaderTest {
    /** The clock: 1 µs on per write, so a line's arrival time tells which write brought its first byte. */
    private long now;
    private final List<PrintkReader.Line> lines = new ArrayList<>();
    private final PrintkReader reader = new PrintkReader(() -> now, lines::add);

    private void bytes(String text) {
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            reader.write(b);
            now += 1_000;
        }
    }

    private void bulk(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        reader.write(bytes, 0, bytes.length);
        now += 1_000;
    }

    @Test
    void a_serial_console_line_gives_the_kernels_clock_and_message() {
        bytes("[    1.234567] Run /init as init process\r\n");
        assertEquals(List.of(new PrintkReader.Line(1_234_567, "Run /init as init process", 0)), lines);
    }

    @Test
    void the_arrival_time_is_when_the_first_byte_of_the_line_came() {
        bytes("[    0.000000] Linux version 6.1.0\r\n");
        long secondLineStart = now;
        bytes("[    0.012345] Command line: console=ttyS0\r\n");
        assertEquals(0, lines.get(0).arrivalNanos());
        assertEquals(secondLineStart, lines.get(1).arrivalNanos());
    }

    @Test
    void lines_split_across_writes_are_put_back_together() {
        bulk("[    0.0000");
        bulk("00] Linux vers");
        bulk("ion 6.1.0\r");
        bulk("\n[    2.5");
        bulk("00001] Run /init as init process\r\n[  ");
        assertEquals(2, lines.size());
        assertEquals(new PrintkReader.Line(0, "Linux version 6.1.0", 0), lines.get(0));
        assertEquals(new PrintkReader.Line(2_500_001, "Run /init as init process", 3_000), lines.get(1),
                "timed by the write that brought its first byte");
    }

    @Test
    void lines_without_a_timestamp_are_passed_over_and_do_not_disturb_the_next() {
        bulk("panavisor-init: booted in 1.52 s\n~ # ls [a-z]\r\n[not a time] x\n[ 1.5 ] spaced\n\n"
                + "[   12.000100] virtio_blk virtio1: [vda] 2048 512-byte logical blocks\n");
        assertEquals(List.of(new PrintkReader.Line(12_000_100, "virtio_blk virtio1: [vda] 2048 512-byte logical blocks",
                0)), lines);
    }

    @Test
    void plain_newlines_and_a_carriage_return_before_the_line_both_end_lines() {
        bulk("[    3.000000] one\n\r[    4.000000] two\n");
        assertEquals(List.of(3_000_000L, 4_000_000L), lines.stream().map(PrintkReader.Line::guestMicros).toList());
        assertEquals("two", lines.get(1).message());
    }

    @Test
    void a_caller_field_after_the_timestamp_is_skipped() {
        bulk("[    0.123456][    T1] Run /init as init process\r\n[    0.200000][    C0] tick\r\n");
        assertEquals("Run /init as init process", lines.get(0).message());
        assertEquals(123_456, lines.get(0).guestMicros());
        assertEquals("tick", lines.get(1).message());
    }

    @Test
    void a_line_that_never_ends_in_time_is_not_reported_yet() {
        bulk("[    5.000000] Run /init as init process");
        assertEquals(List.of(), lines);
    }

    @Test
    void an_overlong_line_keeps_its_start_and_the_next_line_is_read() {
        bulk("[    6.000000] " + "x".repeat(5_000) + "\r\n[    7.000000] next\r\n");
        assertEquals(2, lines.size());
        assertEquals(6_000_000, lines.get(0).guestMicros());
        assertEquals(1024 - "[    6.000000] ".length(), lines.get(0).message().length());
        assertEquals("next", lines.get(1).message());
    }

    @Test
    void fractions_are_digits_of_a_second() {
        assertEquals(1_234_567, PrintkReader.micros("1", "234567"));
        assertEquals(5_250_000, PrintkReader.micros("5", "25"));
        assertEquals(99_999_000_001L, PrintkReader.micros("99999", "000001999"));
    }
}
