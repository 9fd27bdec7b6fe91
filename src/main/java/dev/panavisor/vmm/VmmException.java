package dev.panavisor.vmm;

import dev.panavisor.PanavisorException;

/** The VM could not be built or run as configured (bad sizes, missing files, a vCPU that failed). */
public class VmmException extends PanavisorException {
    public VmmException(String message) {
        super(message);
    }

    public VmmException(String message, Throwable cause) {
        super(message, cause);
    }
}
