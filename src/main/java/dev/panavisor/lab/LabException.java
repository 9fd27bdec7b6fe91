package dev.panavisor.lab;

import dev.panavisor.PanavisorException;

/**
 * Something went wrong with the nested lab itself, not with the command it runs: a missing package, a download
 * that failed, QEMU that would not start. Subclasses name the two failures callers treat differently.
 */
public class LabException extends PanavisorException {
    public LabException(String message) {
        super(message);
    }

    public LabException(String message, Throwable cause) {
        super(message, cause);
    }
}
