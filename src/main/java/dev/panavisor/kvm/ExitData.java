package dev.panavisor.kvm;

/**
 * The data area of an I/O or MMIO exit: the values a guest wrote, or the slots the VMM fills with the values the
 * guest will read when the vCPU next runs. Elements are {@code size} bytes wide (the access width); a string
 * I/O instruction ({@code rep insb/outsb}) has {@code count} elements, everything else one.
 *
 * <p>For real exits this is a window on the vCPU's kvm_run page; tests, benchmarks and the VMM's warm-up use an
 * array-backed one ({@link #of}).
 */
public interface ExitData {
    long get(int index);

    void set(int index, long value);

    /** Data held in {@code values} itself: what the guest wrote, or where the reply goes. */
    static ExitData of(long... values) {
        return new ExitData() {
            @Override
            public long get(int index) {
                return values[index];
            }

            @Override
            public void set(int index, long value) {
                values[index] = value;
            }
        };
    }
}
