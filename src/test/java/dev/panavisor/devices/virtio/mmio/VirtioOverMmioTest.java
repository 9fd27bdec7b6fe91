package dev.panavisor.devices.virtio.mmio;

import static dev.panavisor.devices.virtio.mmio.MmioRegisters.*;
import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.console.VirtioConsole;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Whole devices driven only through their registers on an MMIO bus, the way a guest kernel reaches them. */
class VirtioOverMmioTest {
    final GuestMemory memory = new HeapGuestMemory(1 << 20);
    final VirtioMmioTransportTest.RecordingLine line = new VirtioMmioTransportTest.RecordingLine();

    MmioDriver onBus(VirtioMmioTransport transport) {
        return MmioDriver.onBus(transport, memory);
    }

    @Test
    void a_block_read_travels_from_registers_to_disk_and_back_with_an_interrupt() {
        byte[] image = new byte[64 * 512];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) (i ^ (i >> 9));
        }
        VirtioBlock block = new VirtioBlock(new HeapDiskBackend(image, true), "vda");
        VirtioMmioTransport transport = new VirtioMmioTransport(block, memory, line);
        MmioDriver driver = onBus(transport);

        assertEquals(VirtioBlock.DEVICE_TYPE, driver.read(DEVICE_ID));
        long offered = driver.deviceFeatures();
        assertTrue((offered & VirtioBlock.F_RO) != 0, "read-only disk advertised");
        assertTrue(driver.negotiate(offered & (VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX
                | VirtioBlock.F_RO | VirtioBlock.F_FLUSH)));
        assertEquals(64, Integer.toUnsignedLong(driver.read(CONFIG)) | (long) driver.read(CONFIG + 4) << 32);
        DriverQueue queue = driver.setUpQueue(0, 0x1000);
        driver.driverOk();
        assertEquals(DeviceStatus.DRIVER_OK, driver.read(STATUS) & DeviceStatus.DRIVER_OK);

        memory.writeU32(0x8000, 0); // VIRTIO_BLK_T_IN
        memory.writeU64(0x8008, 2);
        queue.add(readable(0x8000, 16), writable(0x9000, 1024), writable(0x8100, 1));
        driver.notify(0);

        assertTrue(line.level(), "used buffer interrupt raised");
        assertEquals(INTERRUPT_USED_BUFFER, driver.handleInterrupt());
        assertFalse(line.level());
        assertEquals(new DriverQueue.Used(0, 1025), queue.pollUsed());
        assertEquals(0, memory.readU8(0x8100));
        assertArrayEquals(Arrays.copyOfRange(image, 1024, 2048), memory.readBytes(0x9000, 1024));
    }

    @Test
    void console_output_and_input_travel_through_the_transport() {
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        VirtioConsole console = new VirtioConsole(screen);
        VirtioMmioTransport transport = new VirtioMmioTransport(console, memory, line);
        MmioDriver driver = onBus(transport);

        assertEquals(VirtioConsole.DEVICE_TYPE, driver.read(DEVICE_ID));
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX));
        DriverQueue rx = driver.setUpQueue(VirtioConsole.RECEIVE_QUEUE, 0x1000);
        DriverQueue tx = driver.setUpQueue(VirtioConsole.TRANSMIT_QUEUE, 0x3000);
        driver.driverOk();

        memory.write(0x8000, "login: ".getBytes(StandardCharsets.US_ASCII));
        tx.add(readable(0x8000, 7));
        driver.notify(VirtioConsole.TRANSMIT_QUEUE);
        assertEquals("login: ", screen.toString(StandardCharsets.US_ASCII));
        driver.handleInterrupt();

        rx.add(writable(0x9000, 16));
        driver.notify(VirtioConsole.RECEIVE_QUEUE);
        byte[] typed = "root\n".getBytes(StandardCharsets.US_ASCII);
        console.receive(typed, 0, typed.length);
        assertTrue(line.level());
        assertEquals(INTERRUPT_USED_BUFFER, driver.handleInterrupt());
        assertEquals(new DriverQueue.Used(0, 5), rx.pollUsed());
        assertArrayEquals(typed, memory.readBytes(0x9000, 5));
    }
}
