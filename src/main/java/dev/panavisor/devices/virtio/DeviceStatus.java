package dev.panavisor.devices.virtio;

import java.util.StringJoiner;

/**
 * The bits of the device status field (virtio 1.2 §2.1), common to every transport.
 *
 * <p>The driver sets them one after another while it brings the device up (§3.1.1): ACKNOWLEDGE, DRIVER,
 * FEATURES_OK, DRIVER_OK. Writing 0 resets the device. The device itself only ever sets DEVICE_NEEDS_RESET, when it
 * hits an error it cannot recover from, and clears FEATURES_OK's request when it refuses the offered feature set.
 */
public final class DeviceStatus {
    private DeviceStatus() {
    }

    /** The guest noticed the device. */
    public static final int ACKNOWLEDGE = 1;
    /** The guest has a driver for it. */
    public static final int DRIVER = 2;
    /** The driver is set up and the device is live. */
    public static final int DRIVER_OK = 4;
    /** The driver has acknowledged the features it understands; feature negotiation is over. */
    public static final int FEATURES_OK = 8;
    /** The device hit an error and needs a reset before it works again. */
    public static final int DEVICE_NEEDS_RESET = 64;
    /** The driver gave up on the device. */
    public static final int FAILED = 128;

    /** A readable form such as {@code ACKNOWLEDGE|DRIVER|FEATURES_OK}, for messages and tests. */
    public static String describe(int status) {
        if (status == 0) {
            return "RESET";
        }
        StringJoiner names = new StringJoiner("|");
        String[] labels = {"ACKNOWLEDGE", "DRIVER", "DRIVER_OK", "FEATURES_OK", "0x10", "0x20", "DEVICE_NEEDS_RESET",
            "FAILED"};
        for (int bit = 0; bit < 8; bit++) {
            if ((status & (1 << bit)) != 0) {
                names.add(labels[bit]);
            }
        }
        return names.toString();
    }
}
