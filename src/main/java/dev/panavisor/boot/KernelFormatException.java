package dev.panavisor.boot;

/** The kernel file is not a Linux kernel, is truncated or damaged, or uses a format or protocol we do not load. */
public class KernelFormatException extends BootException {
    public KernelFormatException(String message) {
        super(message);
    }
}
