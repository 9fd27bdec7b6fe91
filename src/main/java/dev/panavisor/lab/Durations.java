package dev.panavisor.lab;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses and prints the short durations the lab's options use: "90" (seconds), "90s", "15m", "2h", "500ms". */
public final class Durations {
    private static final Pattern SHORT = Pattern.compile("(\\d+)(ms|s|m|h)?");
    /** The longest duration accepted: a year, far beyond any timeout, and its nanoseconds still fit a long. */
    static final Duration MAX = Duration.ofDays(365);

    private Durations() {
    }

    public static Duration parse(String text) {
        Matcher m = SHORT.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (use e.g. 90, 90s, 15m, 2h)");
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration d;
        try {
            long amount = Long.parseLong(m.group(1));
            d = switch (unit) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                default -> Duration.ofHours(amount);
            };
        } catch (NumberFormatException | ArithmeticException e) {
            d = MAX.plusDays(1); // too many digits for a long, or too long for a Duration: over the limit anyway
        }
        if (d.isZero()) {
            throw new IllegalArgumentException("a duration must be positive: '" + text + "'");
        }
        if (d.compareTo(MAX) > 0) {
            throw new IllegalArgumentException("'" + text + "' is longer than " + MAX.toDays() + " days");
        }
        return d;
    }

    public static String format(Duration d) {
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + " ms";
        }
        long s = d.toSeconds();
        if (s % 3600 == 0) {
            return s / 3600 + " h";
        }
        if (s % 60 == 0) {
            return s / 60 + " min";
        }
        return s + " s";
    }
}
