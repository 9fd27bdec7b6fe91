package dev.panavisor.image;

import dev.panavisor.PanavisorException;

/**
 * A guest image that cannot be built or found: a missing host tool or package, a kernel option that Kconfig
 * dropped, a failed compiler run, an unreadable cache. The message names the cause and, where there is one,
 * the fix (a package to install, a log file to read).
 */
public class ImageException extends PanavisorException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
