package dev.panavisor.devices.virtio;

/**
 * The interrupt side of a device in a benchmark: counts used buffer notifications, so the device's notification
 * decision runs as in a VM, and turns a device failure into an exception, so a broken setup cannot pass for a fast
 * one.
 */
public final class CountingInterrupt implements VirtioInterrupt {
    private long usedBuffers;

    @Override
    public void usedBuffers() {
        usedBuffers++;
    }

    @Override
    public void configChanged() {
    }

    @Override
    public void deviceFailed(String reason) {
        throw new IllegalStateException("the device failed: " + reason);
    }

    /** Used buffer notifications so far. */
    public long usedBufferNotifications() {
        return usedBuffers;
    }
}
