package dev.panavisor.devices.virtio.mmio;

import static dev.panavisor.devices.virtio.mmio.MmioRegisters.*;

import dev.panavisor.bus.Bus;
import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;

/** Plays a guest driver's register accesses against a transport, the way Linux's virtio_mmio does. */
public class MmioDriver {
    final VirtioMmioTransport transport;
    final GuestMemory memory;

    public MmioDriver(VirtioMmioTransport transport, GuestMemory memory) {
        this.transport = transport;
        this.memory = memory;
    }

    /**
     * A driver whose accesses go through a {@link Bus} at the layout's first virtio-mmio address, as the VMM's MMIO
     * exits do (so each one holds the transport's lock, as on a vCPU thread).
     */
    public static MmioDriver onBus(VirtioMmioTransport transport, GuestMemory memory) {
        Bus bus = new Bus("MMIO");
        long base = GuestLayout.VIRTIO_MMIO_BASE;
        bus.register("virtio", base, GuestLayout.VIRTIO_MMIO_SIZE, transport);
        return new MmioDriver(transport, memory) {
            @Override
            public int read(int register) {
                return (int) bus.read(base + register, 4);
            }

            @Override
            public void write(int register, long value) {
                bus.write(base + register, 4, value);
            }
        };
    }

    public int read(int register) {
        return (int) transport.read(register, 4);
    }

    public void write(int register, long value) {
        transport.write(register, 4, value & 0xffff_ffffL);
    }

    public long deviceFeatures() {
        write(DEVICE_FEATURES_SEL, 1);
        long high = Integer.toUnsignedLong(read(DEVICE_FEATURES));
        write(DEVICE_FEATURES_SEL, 0);
        return (high << 32) | Integer.toUnsignedLong(read(DEVICE_FEATURES));
    }

    public void writeDriverFeatures(long features) {
        write(DRIVER_FEATURES_SEL, 0);
        write(DRIVER_FEATURES, features);
        write(DRIVER_FEATURES_SEL, 1);
        write(DRIVER_FEATURES, features >>> 32);
    }

    public void addStatus(int bit) {
        write(STATUS, read(STATUS) | bit);
    }

    /** §3.1.1 steps 1-6; returns whether the device accepted the features (FEATURES_OK reads back set). */
    public boolean negotiate(long features) {
        write(STATUS, 0);
        addStatus(DeviceStatus.ACKNOWLEDGE);
        addStatus(DeviceStatus.DRIVER);
        writeDriverFeatures(features);
        addStatus(DeviceStatus.FEATURES_OK);
        return (read(STATUS) & DeviceStatus.FEATURES_OK) != 0;
    }

    /** §4.2.3.2: sets up queue {@code index} at {@code base} with the device's maximum size; returns its driver. */
    public DriverQueue setUpQueue(int index, long base) {
        write(QUEUE_SEL, index);
        int size = read(QUEUE_NUM_MAX);
        QueueLayout layout = QueueLayout.contiguous(base, size);
        DriverQueue queue = new DriverQueue(memory, layout);
        write(QUEUE_NUM, size);
        write(QUEUE_DESC_LOW, layout.descriptorTable());
        write(QUEUE_DESC_HIGH, layout.descriptorTable() >>> 32);
        write(QUEUE_DRIVER_LOW, layout.availableRing());
        write(QUEUE_DRIVER_HIGH, layout.availableRing() >>> 32);
        write(QUEUE_DEVICE_LOW, layout.usedRing());
        write(QUEUE_DEVICE_HIGH, layout.usedRing() >>> 32);
        write(QUEUE_READY, 1);
        return queue;
    }

    public void driverOk() {
        addStatus(DeviceStatus.DRIVER_OK);
    }

    public void notify(int queue) {
        write(QUEUE_NOTIFY, queue);
    }

    /** What an interrupt handler does: read the cause and acknowledge it; returns the cause. */
    public int handleInterrupt() {
        int cause = read(INTERRUPT_STATUS);
        write(INTERRUPT_ACK, cause);
        return cause;
    }
}
