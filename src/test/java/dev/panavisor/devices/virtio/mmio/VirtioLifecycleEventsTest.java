package dev.panavisor.devices.virtio.mmio;

import static dev.panavisor.devices.virtio.mmio.MmioRegisters.STATUS;
import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What {@code run --verbose} hears from a virtio device as a driver drives it: activation, refused features, a
 * driver's FAILED, resets, and block requests answered with an error — one line each, naming the device.
 */
class VirtioLifecycleEventsTest {
    final GuestMemory memory = new HeapGuestMemory(1 << 20);
    final List<String> events = new ArrayList<>();
    final VirtioBlock block = new VirtioBlock(new HeapDiskBackend(new byte[8 * 512], true), "vda");
    final VirtioMmioTransport transport = new VirtioMmioTransport(block, memory, level -> { });
    final MmioDriver driver = MmioDriver.onBus(transport, memory);

    VirtioLifecycleEventsTest() {
        transport.onLifecycle(events::add);
        block.onRequestError(events::add);
    }

    @Test
    void activation_a_request_error_and_a_reset_are_one_line_each() {
        driver.negotiate(VirtioFeatures.VERSION_1);
        DriverQueue queue = driver.setUpQueue(0, 0x1000);
        driver.driverOk();
        assertEquals(List.of("virtio-blk (heap disk (4096 bytes)): activated (DRIVER_OK), features 0x100000000, 1 queue(s)"), events);

        memory.writeU32(0x8000, 1); // VIRTIO_BLK_T_OUT to a read-only disk (virtio 1.2 §5.2.6.2)
        memory.writeU64(0x8008, 0);
        queue.add(readable(0x8000, 16), readable(0x9000, 512), writable(0x8100, 1));
        driver.notify(0);
        assertEquals(2, events.size(), events.toString());
        assertEquals("virtio-blk (heap disk (4096 bytes)): request answered VIRTIO_BLK_S_IOERR: " + block.lastRequestError(),
                events.get(1));

        driver.write(STATUS, 0);
        assertEquals("virtio-blk (heap disk (4096 bytes)): reset by the driver (status 0xf -> 0)", events.get(2));
        driver.write(STATUS, 0); // already reset: nothing to say
        assertEquals(3, events.size(), events.toString());
    }

    @Test
    void refused_features_and_a_drivers_failed_are_told() {
        assertFalse(driver.negotiate(VirtioFeatures.VERSION_1 | (1L << 40)));
        assertEquals(1, events.size(), events.toString());
        assertEquals("virtio-blk (heap disk (4096 bytes)): driver accepted features 0x10000000000 that were not offered (0x"
                + Long.toHexString(block.offeredFeatures()) + "); FEATURES_OK refused", events.getFirst());
        driver.addStatus(DeviceStatus.FAILED);
        assertEquals("virtio-blk (heap disk (4096 bytes)): the driver gave up on the device (FAILED)", events.get(1));
    }
}
