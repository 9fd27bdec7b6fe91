package dev.panavisor.devices.virtio.mmio;

import static dev.panavisor.devices.virtio.mmio.MmioRegisters.*;

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

    /** A write to one of the six QueueDesc/QueueDriver/QueueDevice Low/High registers (§4.2.2). */
    void writeAddress(int register, long value) {
        switch (register) {
            case QUEUE_DESC_LOW -> descriptorTable = setLow(descriptorTable, value);
            case QUEUE_DESC_HIGH -> descriptorTable = setHigh(descriptorTable, value);
            case QUEUE_DRIVER_LOW -> availableRing = setLow(availableRing, value);
            case QUEUE_DRIVER_HIGH -> availableRing = setHigh(availableRing, value);
            case QUEUE_DEVICE_LOW -> usedRing = setLow(usedRing, value);
            case QUEUE_DEVICE_HIGH -> usedRing = setHigh(usedRing, value);
            default -> throw new IllegalArgumentException("not a queue address register: " + register);
        }
    }

    private static long setLow(long value, long low32) {
        return (value & 0xffff_ffff_0000_0000L) | (low32 & 0xffff_ffffL);
    }

    private static long setHigh(long value, long high32) {
        return (value & 0xffff_ffffL) | (high32 << 32);
    }
}
