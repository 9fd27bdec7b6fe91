package dev.panavisor.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DecimalTest {
    @Test
    void writes_the_value_in_the_larger_unit() {
        assertEquals("1.2", Decimal.of(1_234_567, 1_000_000, 1));
        assertEquals("1013.8", Decimal.of(1_013_750_000L, 1_000_000, 1));
        assertEquals("2.343", Decimal.of(2_343_000, 1_000_000, 3));
        assertEquals("0.000", Decimal.of(0, 1_000_000, 3));
        assertEquals("0.050", Decimal.of(50, 1_000, 3));
        assertEquals("7", Decimal.of(7_400, 1_000, 0));
    }

    @Test
    void rounds_half_away_from_zero() {
        assertEquals("0.2", Decimal.of(150_000, 1_000_000, 1));
        assertEquals("0.1", Decimal.of(149_999, 1_000_000, 1));
        assertEquals("1.0", Decimal.of(999_950, 1_000_000, 1));
        assertEquals("-0.2", Decimal.of(-150_000, 1_000_000, 1));
        assertEquals("0.0", Decimal.of(-49_999, 1_000_000, 1), "no sign on a value that rounds to zero");
    }

    @Test
    void pads_like_a_format_width() {
        assertEquals("   812.4", Decimal.padded(812_400_000, 1_000_000, 1, 8));
        assertEquals("123456789.0", Decimal.padded(123_456_789_000_000L, 1_000_000, 1, 8), "never cut");
    }

    @Test
    void agrees_with_the_formatter_on_many_values() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 10_000; i++) {
            // Durations up to a day in ns, avoiding exact halves, where %f rounds the binary double instead.
            long nanos = random.nextLong(86_400_000_000_000L);
            if (nanos % 100_000 == 50_000) {
                continue;
            }
            assertEquals(String.format(Locale.ROOT, "%8.1f", nanos / 1e6), Decimal.padded(nanos, 1_000_000, 1, 8),
                    "nanos " + nanos);
            long micros = random.nextLong(100_000_000_000L);
            if (micros % 1_000 == 500) {
                continue;
            }
            assertEquals(String.format(Locale.ROOT, "%.3f", micros / 1e6), Decimal.of(micros, 1_000_000, 3),
                    "micros " + micros);
        }
    }

    @Test
    void large_values_come_out_exactly() {
        assertEquals("9223372036.855", Decimal.of(Long.MAX_VALUE, 1_000_000_000, 3));
        assertEquals("-9223372036.855", Decimal.of(Long.MIN_VALUE + 1, 1_000_000_000, 3));
        assertEquals("-9223372036854775808.000000000", Decimal.of(Long.MIN_VALUE, 1, 9));
        assertEquals("9223372036854775807.0", Decimal.of(Long.MAX_VALUE, 1, 1));
        assertEquals("92233720368547758.07", Decimal.of(Long.MAX_VALUE, 100, 2));
    }

    @Test
    void refuses_what_it_cannot_write() {
        assertThrows(IllegalArgumentException.class, () -> Decimal.of(1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Decimal.of(1, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> Decimal.of(1, 1, -1));
    }
}
