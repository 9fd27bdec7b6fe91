package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.VirtioException;

/** A disk image that cannot be used: missing, unreadable, unwritable, too small, or in use. Names the path. */
public class DiskException extends VirtioException {
    public DiskException(String message) {
        super(message);
    }

    public DiskException(String message, Throwable cause) {
        super(message, cause);
    }
}
