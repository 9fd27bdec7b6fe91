package dev.panavisor.devices.virtio.queue;

import dev.panavisor.devices.virtio.VirtioException;

/**
 * A virtqueue the driver set up or filled in a way the device refuses: misaligned or out-of-memory rings, a
 * descriptor outside guest memory, a chain that loops or is longer than the queue, an available index that jumps
 * too far. The device stops using the queue; the transport reports DEVICE_NEEDS_RESET.
 */
public class VirtqueueException extends VirtioException {
    public VirtqueueException(String message) {
        super(message);
    }
}
