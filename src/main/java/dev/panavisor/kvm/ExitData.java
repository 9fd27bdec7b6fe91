package dev.panavisor.kvm;

/**
 * The data area of an I/O or MMIO exit: the values a guest wrote, or the slots the VMM fills with the values the
 * guest will read when the vCPU next runs. Elements are {@code size} bytes wide (the access width); a string
 * I/O instruction ({@code rep insb/outsb}) has {@code count} elements, everything else one.
 *
 * <p>For real exits this is a window on the vCPU's kvm_run page; tests use an array-backed one.
 */
public interface ExitData {
    long get(int index);

    void set(int index, long value);
}
