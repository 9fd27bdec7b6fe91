package dev.panavisor.bus;

/**
 * A device as a bus sees it: something that answers reads and takes writes at offsets inside its own range.
 *
 * <p>{@code offset} is relative to the base the device was registered at; {@code size} is the access width in
 * bytes (1, 2, 4 or 8). Values are the little-endian integer the guest reads or wrote, in the low {@code size}
 * bytes. Device models implement this and stay free of KVM: the VMM's run loop turns exits into these calls.
 */
public interface BusDevice {
    long read(long offset, int size);

    void write(long offset, int size, long value);

    /**
     * The name of the register at {@code offset} for a read or a write, as the device's datasheet or spec calls it
     * ("THR", "QueueNotify"), or null when the device has none to give; for {@code run --trace exits}, which is
     * read by people learning what a driver does. Called after the access, under the device's lock.
     */
    default String registerName(long offset, boolean write) {
        return null;
    }
}
