package dev.panavisor.memory;

import dev.panavisor.PanavisorException;

/** A guest-physical access that cannot be honoured: out of range, or memory that cannot be set up. */
public class GuestMemoryException extends PanavisorException {
    public GuestMemoryException(String message) {
        super(message);
    }

    public GuestMemoryException(String message, Throwable cause) {
        super(message, cause);
    }

    /** An access of {@code length} bytes at {@code address} that falls outside [0, size). */
    public static GuestMemoryException outOfRange(long address, long length, long size) {
        return new GuestMemoryException(String.format(
                "guest memory access of %d bytes at 0x%x is outside guest memory (size 0x%x)", length, address, size));
    }
}
