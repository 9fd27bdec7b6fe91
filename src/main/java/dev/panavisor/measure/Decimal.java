package dev.panavisor.measure;

/**
 * A measured count written as a decimal in a larger unit ({@code 1234567 ns} as {@code "1.2"} ms), without
 * {@code java.util.Formatter}.
 *
 * <p>Why not {@code String.format}: its first use in a JVM loads and initializes the Formatter and its regular
 * expressions, interpreted, which took 190-320 ms on the nested lab's emulated CPU; a run's last lines
 * ({@code --boot-time}, {@code --timeline}) were each such a first use, paid inside every run that asked for them
 * (docs/performance.md, "No Formatter on a boot's path").
 */
public final class Decimal {
    private Decimal() {
    }

    /**
     * {@code value / unit} rounded half away from zero to {@code decimals} places (0-9), e.g.
     * {@code of(1_234_567, 1_000_000, 1)} is {@code "1.2"}; a dot, never a locale's comma, and no minus sign on a
     * value that rounds to zero (where {@code %.1f} writes {@code -0.0}).
     */
    public static String of(long value, long unit, int decimals) {
        if (unit <= 0 || decimals < 0 || decimals > 9) {
            throw new IllegalArgumentException("unit " + unit + ", decimals " + decimals);
        }
        long scale = 1;
        for (int i = 0; i < decimals; i++) {
            scale *= 10;
        }
        // In integers while magnitude * scale + unit fits in a long (nanoseconds to 3 places: up to about 106 days);
        // beyond that (never a duration in a report) in BigDecimal, as exactly.
        long magnitude = Math.abs(value); // Long.MIN_VALUE stays negative: BigDecimal's case
        if (magnitude < 0 || magnitude > Long.MAX_VALUE / scale - unit) {
            return new java.math.BigDecimal(value).divide(java.math.BigDecimal.valueOf(unit), decimals,
                    java.math.RoundingMode.HALF_UP).toPlainString();
        }
        long scaled = (magnitude * scale + unit / 2) / unit;
        StringBuilder text = new StringBuilder(24);
        if (value < 0 && scaled != 0) {
            text.append('-');
        }
        text.append(scaled / scale);
        if (decimals > 0) {
            String fraction = Long.toString(scaled % scale);
            text.append('.');
            text.repeat('0', decimals - fraction.length());
            text.append(fraction);
        }
        return text.toString();
    }

    /** {@link #of} padded on the left with spaces to at least {@code width} characters, as {@code %8.1f} pads. */
    public static String padded(long value, long unit, int decimals, int width) {
        String text = of(value, unit, decimals);
        return text.length() >= width ? text : " ".repeat(width - text.length()) + text;
    }
}
