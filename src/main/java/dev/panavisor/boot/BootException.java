package dev.panavisor.boot;

import dev.panavisor.PanavisorException;

/**
 * Why a guest could not be prepared for boot: the kernel, initrd or command line given, or the memory size asked
 * for, cannot work. The message is one line meant for the person who gave that input.
 *
 * <p>Two kinds below it: {@link KernelFormatException} (the file is not a kernel we can load) and
 * {@link DoesNotFitException} (something is too large for where it must go).
 */
public class BootException extends PanavisorException {
    public BootException(String message) {
        super(message);
    }

    public BootException(String message, Throwable cause) {
        super(message, cause);
    }
}
