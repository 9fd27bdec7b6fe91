package dev.panavisor.cpu;

import dev.panavisor.PanavisorException;

/** The CPU set-up could not be done as asked (e.g. memory too small for the boot page tables). */
public class CpuException extends PanavisorException {
    public CpuException(String message) {
        super(message);
    }
}
