package dev.panavisor.lab;

/**
 * The L1 Linux started but could not get ready to run the command: a kernel module did not load, a 9p mount
 * failed, /dev/kvm did not appear, or L1 stopped without saying why. The message says which step failed and
 * carries the tail of the L1 console.
 */
public final class LabSetupException extends LabException {
    public LabSetupException(String message) {
        super(message);
    }
}
