package dev.panavisor.devices.virtio;

/**
 * A device's configuration space as the driver reads it (virtio 1.2 §4.2.2.2: the device-specific registers from
 * offset 0x100 of a virtio-mmio device): fields little-endian, a read of 1, 2, 4 or 8 bytes at any offset, and
 * bytes past the fields reading as zero, so a driver probing a field the device does not offer gets 0 rather than
 * an error. The bytes are the device's layout of its own struct (virtio_blk_config, virtio_net_config, ...).
 */
public final class ConfigSpace {
    private ConfigSpace() {
    }

    /** The {@code size} bytes at {@code offset} of {@code layout}, little-endian; bytes outside it are zero. */
    public static long read(byte[] layout, int offset, int size) {
        long value = 0;
        for (int i = size - 1; i >= 0; i--) {
            int at = offset + i;
            value = (value << 8) | (at >= 0 && at < layout.length ? layout[at] & 0xff : 0);
        }
        return value;
    }
}
