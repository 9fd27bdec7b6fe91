package dev.panavisor.devices.virtio;

/**
 * Feature bits that do not belong to one device type (virtio 1.2 §6, "Reserved Feature Bits").
 *
 * <p>Features are one 64-bit set: bits 0-23 are device-specific (see each device), 24-40 are these. Each constant
 * here is a mask ({@code 1L << bit}) so sets combine with {@code |}.
 */
public final class VirtioFeatures {
    private VirtioFeatures() {
    }

    /** Bit 28: the driver may use indirect descriptor tables (§2.7.5.3). */
    public static final long INDIRECT_DESC = 1L << 28;
    /** Bit 29: used_event / avail_event notification suppression (§2.7.7, §2.7.10). */
    public static final long EVENT_IDX = 1L << 29;
    /** Bit 32: this is a modern (non-legacy) device; a driver that does not accept it is refused (§6). */
    public static final long VERSION_1 = 1L << 32;

    /** The mask for feature bit {@code bit}. */
    public static long bit(int bit) {
        if (bit < 0 || bit > 63) {
            throw new IllegalArgumentException("feature bit out of range: " + bit);
        }
        return 1L << bit;
    }

    /** True when every bit of {@code feature} is present in {@code set}. */
    public static boolean has(long set, long feature) {
        return (set & feature) == feature;
    }
}
