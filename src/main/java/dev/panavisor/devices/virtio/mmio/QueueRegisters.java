package dev.panavisor.devices.virtio.mmio;

import dev.panavisor.devices.virtio.queue.QueueLayout;

/**
 * What the driver has told the transport about one queue through the Queue* registers (virtio 1.2 §4.2.3.2).
 * The device only gets a live queue from these values at DRIVER_OK.
 */
final class QueueRegisters {
    final int maxSize;
    int size;
    boolean ready;
    long descriptorTable;
    long availableRing;
    long usedRing;

    QueueRegisters(int maxSize) {
        this.maxSize = maxSize;
        reset();
    }

    /** Back to the state after a device reset (§4.2.2: ready bits clear). */
    void reset() {
        // QueueNum starts at the maximum, so a driver that skips writing it still gets a sensible queue.
        size = maxSize;
        ready = false;
        descriptorTable = 0;
        availableRing = 0;
        usedRing = 0;
    }

    QueueLayout layout() {
        return new QueueLayout(size, descriptorTable, availableRing, usedRing);
    }

    static long setLow(long value, long low32) {
        return (value & 0xffff_ffff_0000_0000L) | (low32 & 0xffff_ffffL);
    }

    static long setHigh(long value, long high32) {
        return (value & 0xffff_ffffL) | (high32 << 32);
    }
}
