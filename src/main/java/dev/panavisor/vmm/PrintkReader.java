package dev.panavisor.vmm;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the guest console as it is written, byte by byte or in runs, and picks out the guest kernel's timestamped
 * log lines: with {@code printk.time=1} the kernel starts each message with its own clock, seconds since the
 * kernel started to the microsecond, {@code "[    1.234567] Run /init as init process"} (Linux 6.1
 * kernel/printk/printk.c, print_time(): {@code "[%5lu.%06lu]"}; with CONFIG_PRINTK_CALLER a
 * {@code "[     T1]"} field follows). Each such line goes to the consumer with that timestamp and the host
 * time its first byte arrived; lines without a timestamp (the init's and the user's output) are passed over.
 *
 * <p>It is a tap on {@link ConsoleWatcher}, which feeds it under its own lock, so it needs none. The host time
 * is read once per line, at its first byte, not per byte: on the 8250 every byte is a VM exit, and a line's last
 * byte arrives a whole line of exits after the kernel printed it.
 */
public final class PrintkReader extends OutputStream {
    /** One timestamped kernel log line: the kernel's clock, the text after the timestamp, the host arrival time. */
    public record Line(long guestMicros, String message, long arrivalNanos) {
    }

    /**
     * The kernel's timestamp, an optional caller field ({@code [T1]} for a task, {@code [C0]} for a CPU), then the
     * message. The fraction is read as digits of a second, so a differently padded kernel still parses.
     */
    private static final Pattern TIMESTAMPED = Pattern.compile(
            "\\[\\s*(\\d{1,10})\\.(\\d{1,9})\\](?:\\[\\s*[TC]\\d+\\])? ?(.*)");
    /**
     * As long as a kernel log line can be (Linux 6.1 printk.c: CONSOLE_LOG_MAX, 1024 bytes with the prefix). The
     * rest of a longer line (user-space output) is dropped; its start, where a timestamp would be, is still read.
     */
    private static final int MAX_LINE = 1024;

    private final LongSupplier clock;
    private final Consumer<Line> lines;
    private final byte[] line = new byte[MAX_LINE];
    private int length;
    private long lineStartNanos;

    /** Delivers each timestamped line to {@code lines}, timed by {@code clock} (System::nanoTime outside tests). */
    public PrintkReader(LongSupplier clock, Consumer<Line> lines) {
        this.clock = clock;
        this.lines = lines;
    }

    @Override
    public void write(int b) {
        accept((byte) b);
    }

    @Override
    public void write(byte[] bytes, int offset, int count) {
        for (int i = 0; i < count; i++) {
            accept(bytes[offset + i]);
        }
    }

    private void accept(byte b) {
        if (b == '\n') {
            endOfLine();
            return;
        }
        if (b == '\r') {
            return; // the serial console ends lines with \r\n; a stray \r before a line is not part of it
        }
        if (length == 0) {
            lineStartNanos = clock.getAsLong();
        }
        if (length < MAX_LINE) {
            line[length++] = b;
        }
    }

    private void endOfLine() {
        if (length > 0 && line[0] == '[') {
            Matcher timestamped = TIMESTAMPED.matcher(new String(line, 0, length, StandardCharsets.UTF_8));
            if (timestamped.matches()) {
                lines.accept(new Line(micros(timestamped.group(1), timestamped.group(2)), timestamped.group(3),
                        lineStartNanos));
            }
        }
        length = 0;
    }

    /**
     * Seconds and a decimal fraction (digits, as the pattern matched them) as microseconds: "1" and "234567" are
     * 1,234,567; "5" and "25" 5,250,000. No string concatenation: in a run that keeps a timeline this runs on a
     * vCPU thread at the guest's first console line, and a concatenation's first run links its call site by
     * generating a class, the guest waiting (docs/performance.md, "Nothing generated on the vCPU thread").
     */
    static long micros(String seconds, String fraction) {
        long micros = 0;
        for (int i = 0; i < 6; i++) {
            micros = micros * 10 + (i < fraction.length() ? fraction.charAt(i) - '0' : 0);
        }
        return Long.parseLong(seconds) * 1_000_000L + micros;
    }
}
