package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.memory.HeapGuestMemory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The polling window's rule (QEMU's, util/aio-posix.c); the polling itself is in {@link DeviceWorkerTest}. */
class QueuePollingTest {
    final VirtioMmioTransport transport = new VirtioMmioTransport(
            new VirtioBlock(new HeapDiskBackend(new byte[4096], false), "vda"), new HeapGuestMemory(1 << 16),
            level -> { });

    @Test
    void the_window_grows_while_the_queue_wakes_within_the_ceiling_and_shrinks_after_longer_idle_stretches() {
        QueuePolling polling = new QueuePolling(transport, new int[] {0}, 100_000, 0);
        List<Long> windows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            polling.adapt(90_000); // the guest answered 90 µs after each round: within the ceiling
            windows.add(polling.windowNanos());
        }
        assertEquals(List.of(4_000L, 8_000L, 16_000L, 32_000L, 64_000L, 100_000L), windows,
                "from the first step, doubling, up to the ceiling");
        QueuePolling covering = new QueuePolling(transport, new int[] {0}, 100_000, 0);
        for (int i = 0; i < 6; i++) {
            covering.adapt(20_000);
        }
        assertEquals(32_000, covering.windowNanos(), "a window that covers the idle stretches grows no further");

        windows.clear();
        for (int i = 0; i < 6; i++) {
            polling.adapt(5_000_000); // the guest went quiet: longer than the ceiling
            windows.add(polling.windowNanos());
        }
        assertEquals(List.of(50_000L, 25_000L, 12_500L, 6_250L, 0L, 0L), windows,
                "halving, and no polling at all below the first step");
    }

    @Test
    void a_disk_polls_with_qemu_s_ceiling_by_default_at_most_a_second_and_not_at_all_when_the_property_says_0() {
        String before = System.getProperty(QueuePolling.DISK_CEILING_PROPERTY);
        try {
            System.clearProperty(QueuePolling.DISK_CEILING_PROPERTY);
            QueuePolling polling = QueuePolling.forDisk(transport);
            assertNotNull(polling);
            assertEquals(0, polling.windowNanos(), "no window until the guest shows it answers quickly");
            for (int i = 0; i < 20; i++) {
                polling.adapt(31_000);
            }
            assertEquals(QueuePolling.DISK_CEILING_MICROS * 1000, polling.windowNanos());
            System.setProperty(QueuePolling.DISK_CEILING_PROPERTY, "0");
            assertNull(QueuePolling.forDisk(transport));
            System.setProperty(QueuePolling.DISK_CEILING_PROPERTY, "-5");
            assertNull(QueuePolling.forDisk(transport));
            // A value whose nanoseconds would overflow a long is taken as the largest ceiling, not wrapped.
            System.setProperty(QueuePolling.DISK_CEILING_PROPERTY, "9223372036854776");
            QueuePolling huge = QueuePolling.forDisk(transport);
            assertNotNull(huge);
            long maxNanos = QueuePolling.MAX_CEILING_MICROS * 1000;
            for (int i = 0; i < 40; i++) {
                huge.adapt(Math.min(huge.windowNanos() + 1, maxNanos)); // each idle stretch just past the window
            }
            assertEquals(maxNanos, huge.windowNanos(), "grown to one second, and no further");
        } finally {
            if (before == null) {
                System.clearProperty(QueuePolling.DISK_CEILING_PROPERTY);
            } else {
                System.setProperty(QueuePolling.DISK_CEILING_PROPERTY, before);
            }
        }
    }
}
