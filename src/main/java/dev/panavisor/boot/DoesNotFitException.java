package dev.panavisor.boot;

import java.util.Locale;

/**
 * Something does not fit where it has to go: a kernel or initrd larger than guest memory, a command line longer
 * than the kernel accepts, or a guest memory too small to boot at all.
 */
public class DoesNotFitException extends BootException {
    public DoesNotFitException(String message) {
        super(message);
    }

    /** "4.0 MiB" style sizes for messages; exact bytes when below 1 KiB. */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
