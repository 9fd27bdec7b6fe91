package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.mmio.MmioRegisters;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class NeedsResetReporterTest {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final NeedsResetReporter reporter = new NeedsResetReporter(
            EventLog.to(new PrintStream(bytes, true, StandardCharsets.UTF_8)));

    List<String> lines() {
        return bytes.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void a_device_that_needs_a_reset_prints_one_line_naming_it_and_why() {
        HeapGuestMemory memory = new HeapGuestMemory(0x10000);
        VirtioMmioTransport transport = new VirtioMmioTransport(new VirtioBlock(new HeapDiskBackend(4096), "x"),
                memory, asserted -> { });
        transport.onNeedsReset(reporter);
        // A driver that makes a queue ready with a descriptor table beyond guest memory (§4.2.3.2).
        transport.write(MmioRegisters.STATUS, 4, DeviceStatus.ACKNOWLEDGE);
        transport.write(MmioRegisters.QUEUE_DESC_LOW, 4, 0xfff0_0000L);
        transport.write(MmioRegisters.QUEUE_READY, 4, 1);
        transport.write(MmioRegisters.QUEUE_READY, 4, 1); // a second error while already broken: no second line
        assertEquals(1, lines().size(), lines().toString());
        String line = lines().getFirst();
        assertTrue(line.startsWith("panavisor: virtio-blk (heap disk (4096 bytes)): queue 0: descriptor table at "
                + "0xfff00000"), line);
        assertTrue(line.endsWith("until the guest resets it (DEVICE_NEEDS_RESET)"), line);
        assertTrue((transport.status() & DeviceStatus.DEVICE_NEEDS_RESET) != 0);
    }

    @Test
    void a_guest_that_breaks_a_device_in_a_loop_cannot_flood_stderr() {
        for (int i = 0; i < 20; i++) {
            reporter.accept("virtio-blk (disk.img): failure " + i);
        }
        assertEquals(NeedsResetReporter.LIMIT, lines().size());
        assertTrue(lines().getLast().endsWith("further failures of this device are not shown"), lines().getLast());
    }
}
