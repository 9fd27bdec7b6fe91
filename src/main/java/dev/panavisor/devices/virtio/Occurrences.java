package dev.panavisor.devices.virtio;

/**
 * When a device reports something that can happen again and again (a dropped frame, a failed disk request): at the
 * 1st, 10th, 100th... occurrence, so the user hears of it at once and a flood of them cannot flood the log (or hold
 * a device's lock while a slow reader takes the lines).
 */
public final class Occurrences {
    private Occurrences() {
    }

    /** Whether the {@code count}th occurrence (counting from 1) is one to report: a power of ten. */
    public static boolean worthReporting(long count) {
        if (count <= 0) {
            return false;
        }
        long n = count;
        while (n % 10 == 0) {
            n /= 10;
        }
        return n == 1;
    }
}
