package dev.panavisor.devices.virtio;

/**
 * What an active device can tell the driver, through its transport.
 *
 * <p>The transport implements this; on virtio-mmio each call sets a bit in InterruptStatus and raises the device's
 * interrupt line (virtio 1.2 §4.2.3.4). Devices call {@link #usedBuffers()} after adding a batch of buffers to a
 * used ring, and only when the queue says the driver wants to hear about it
 * ({@code SplitVirtqueue.needsNotification()}).
 */
public interface VirtioInterrupt {
    /** A used buffer notification (§2.3): the device has put buffers in a used ring. */
    void usedBuffers();

    /** A configuration change notification (§2.3): device-specific configuration space changed. */
    void configChanged();

    /**
     * The device hit an error it cannot recover from, such as a malformed descriptor chain: the transport sets
     * DEVICE_NEEDS_RESET (§2.1.2), tells the driver with a configuration change notification, and stops passing
     * notifications to the device until the driver resets it. {@code reason} is kept for diagnostics.
     */
    void deviceFailed(String reason);
}
