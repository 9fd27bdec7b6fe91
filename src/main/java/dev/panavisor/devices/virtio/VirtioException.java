package dev.panavisor.devices.virtio;

import dev.panavisor.PanavisorException;

/**
 * Something went wrong inside a virtio device or its transport: a malformed virtqueue, a disk image that cannot be
 * opened, a request the device refuses.
 *
 * <p>Errors caused by the guest's driver (a hostile descriptor chain, for example) are caught by the transport and
 * turn into the DEVICE_NEEDS_RESET status bit (virtio 1.2 §2.1.2); they never escape into the VMM's run loop.
 * Errors caused by the host's configuration (a missing disk image) reach the command line as one clear line.
 */
public class VirtioException extends PanavisorException {
    public VirtioException(String message) {
        super(message);
    }

    public VirtioException(String message, Throwable cause) {
        super(message, cause);
    }
}
