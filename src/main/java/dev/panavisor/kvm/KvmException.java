package dev.panavisor.kvm;

import dev.panavisor.PanavisorException;

/** KVM is missing, unusable, or refused an operation; the message says which and, where known, what to do. */
public class KvmException extends PanavisorException {
    public KvmException(String message) {
        super(message);
    }

    public KvmException(String message, Throwable cause) {
        super(message, cause);
    }
}
