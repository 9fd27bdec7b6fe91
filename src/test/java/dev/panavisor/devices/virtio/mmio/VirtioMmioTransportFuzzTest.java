package dev.panavisor.devices.virtio.mmio;

import static dev.panavisor.devices.virtio.mmio.MmioRegisters.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.devices.InterruptLine;
import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.console.VirtioConsole;
import dev.panavisor.devices.virtio.queue.HostileDriver;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.testing.FuzzLimits;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * A hostile driver against the virtio-mmio transport (virtio 1.2 §4.2) of a block device and of a console:
 * register reads and writes of every width at every offset, in every order and state, features never offered,
 * queue sizes and addresses of any value, notifications for queues that do not exist, resets in the middle of
 * requests, and, often enough to reach the live device, a correct bring-up whose queues then fill with hostile
 * descriptors.
 *
 * <p>Properties, checked after every access: nothing escapes the transport (a malformed queue becomes
 * DEVICE_NEEDS_RESET, §2.1.2); the status machine never holds FEATURES_OK for a feature set it must refuse nor
 * DRIVER_OK without FEATURES_OK; the interrupt line is high exactly while InterruptStatus is non-zero and is only
 * driven on transitions; the needs-reset listener hears each entry into DEVICE_NEEDS_RESET once, and with DRIVER_OK
 * the driver gets a configuration-change interrupt for it; a write of 0 to Status leaves status, interrupts and the
 * line clear; no host memory outside the guest's is touched and no loop runs away.
 *
 * <p>Jazzer chooses every access from its input; the regression corpus, replayed by every test run, is
 * {@code src/test/resources/dev/panavisor/devices/virtio/mmio/VirtioMmioTransportFuzzTestInputs/}.
 */
@Tag("fuzz")
class VirtioMmioTransportFuzzTest {
    static final long MEMORY = 0x10000;
    /** Bounds one input's work, whatever its length. */
    static final int MAX_STEPS = 400;
    static final int[] REGISTERS = {MAGIC_VALUE, VERSION, DEVICE_ID, VENDOR_ID, DEVICE_FEATURES, DEVICE_FEATURES_SEL,
        DRIVER_FEATURES, DRIVER_FEATURES_SEL, QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM, QUEUE_READY, QUEUE_NOTIFY,
        INTERRUPT_STATUS, INTERRUPT_ACK, STATUS, QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH,
        QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH, SHM_SEL, QUEUE_RESET, CONFIG_GENERATION, CONFIG, CONFIG + 8, CONFIG + 12};

    /** An interrupt line that checks it is only driven on transitions. */
    static final class Line implements InterruptLine {
        boolean high;

        @Override
        public void set(boolean asserted) {
            assertTrue(asserted != high, "line driven to " + asserted + " twice in a row");
            high = asserted;
        }
    }

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void register_accesses_in_any_order_keep_the_status_machine_and_the_interrupt_line_consistent(
            FuzzedDataProvider data) {
        GuardedGuestMemory memory = GuardedGuestMemory.scrambled(data.consumeLong(), MEMORY, 4_000_000);
        Line line = new Line();
        VirtioConsole console = data.consumeBoolean() ? new VirtioConsole(new ByteArrayOutputStream()) : null;
        VirtioMmioTransport transport = new VirtioMmioTransport(console != null ? console
                : new VirtioBlock(new HeapDiskBackend(new byte[data.consumeInt(0, 8191)], data.consumeBoolean()),
                        "fuzz"), memory, line);
        List<String> needsReset = new ArrayList<>();
        transport.onNeedsReset(needsReset::add);
        MmioDriver driver = new MmioDriver(transport, memory);
        QueueLayout[] layouts = new QueueLayout[transport.queueCount()];
        java.util.Arrays.fill(layouts, QueueLayout.contiguous(0, 1));
        int entries = 0;
        for (int step = 0; step < MAX_STEPS && data.remainingBytes() > 0; step++) {
            int before = transport.status();
            boolean reset = step(data, transport, driver, memory, console, layouts);
            int after = transport.status();
            if ((before & DeviceStatus.DEVICE_NEEDS_RESET) == 0 && (after & DeviceStatus.DEVICE_NEEDS_RESET) != 0) {
                entries++;
                assertTrue((after & DeviceStatus.DRIVER_OK) == 0
                        || (transport.interruptStatus() & INTERRUPT_CONFIG_CHANGE) != 0,
                        "DEVICE_NEEDS_RESET with DRIVER_OK but no configuration-change interrupt");
            }
            checkInvariants(transport, line, reset);
            assertEquals(entries, needsReset.size(), "needs-reset reports: " + needsReset);
        }
        memory.assertGuardsIntact();
    }

    /** One driver action; returns true when it was a reset (a 32-bit write of 0 to Status). */
    static boolean step(FuzzedDataProvider data, VirtioMmioTransport transport, MmioDriver driver, GuardedGuestMemory memory,
            VirtioConsole console, QueueLayout[] layouts) {
        switch (data.consumeInt(0, 11)) {
            case 0 -> {
                bringUp(data, driver, layouts);
                return false;
            }
            case 1 -> {
                for (int q = 0; q < transport.queueCount(); q++) {
                    HostileDriver.scribble(data, memory, layouts[q], MEMORY);
                }
                transport.notifyQueue(data.consumeInt(-1, transport.queueCount()));
                return false;
            }
            case 2 -> {
                driver.write(QUEUE_NOTIFY, data.consumeInt(0, 3));
                return false;
            }
            case 3 -> {
                if (console != null) {
                    byte[] typed = data.consumeBytes(data.consumeInt(0, 299));
                    console.receive(typed, 0, typed.length);
                }
                return false;
            }
            case 4 -> {
                driver.write(STATUS, 0);
                return true;
            }
            case 5 -> {
                driver.write(STATUS, driver.read(STATUS) | (1 << data.consumeInt(0, 7)));
                return false;
            }
            default -> {
                long offset = data.consumeInt(0, 4) == 0 ? data.consumeInt(0, 0xfff) : data.pickValue(REGISTERS);
                int size = data.consumeInt(0, 3) == 0 ? 1 << data.consumeInt(0, 3) : 4;
                if (data.consumeBoolean()) {
                    transport.read(offset, size);
                    return false;
                }
                long value = HostileDriver.pick(data, 0, 1, 2, 4, 8, 0xf, 0xff, 0xffff_ffffL, 1L << 32, 64, 256,
                        0x8000);
                transport.write(offset, size, value);
                return offset == STATUS && size == 4 && (int) value == 0;
            }
        }
    }

    /** A correct bring-up (§3.1.1, §4.2.3.2) with each queue at a random place, sometimes with a random feature set. */
    static void bringUp(FuzzedDataProvider data, MmioDriver driver, QueueLayout[] layouts) {
        long features = data.consumeInt(0, 3) == 0 ? data.consumeLong() : driver.deviceFeatures()
                & (data.consumeBoolean() ? -1 : VirtioFeatures.VERSION_1 | data.consumeLong());
        driver.negotiate(features);
        for (int q = 0; q < layouts.length; q++) {
            driver.write(QUEUE_SEL, q);
            int size = 1 << data.consumeInt(0, Integer.numberOfTrailingZeros(Math.max(1, driver.read(QUEUE_NUM_MAX))));
            QueueLayout layout = QueueLayout.contiguous(16 * data.consumeLong(0, MEMORY / 2 / 16 - 1), size);
            driver.write(QUEUE_NUM, size);
            driver.write(QUEUE_DESC_LOW, layout.descriptorTable());
            driver.write(QUEUE_DRIVER_LOW, layout.availableRing());
            driver.write(QUEUE_DEVICE_LOW, layout.usedRing());
            driver.write(QUEUE_READY, 1);
            layouts[q] = layout;
        }
        driver.driverOk();
    }

    static void checkInvariants(VirtioMmioTransport transport, Line line, boolean reset) {
        int status = transport.status();
        assertEquals(transport.interruptLineHigh(), line.high, "line level vs events the driver has not read");
        if (line.high) {
            assertTrue(transport.interruptStatus() != 0, "the line is high with nothing in InterruptStatus");
        }
        if ((status & DeviceStatus.FEATURES_OK) != 0) {
            long offered = transport.device().offeredFeatures();
            assertEquals(0, transport.driverFeatures() & ~offered, "FEATURES_OK with features never offered");
            assertTrue(VirtioFeatures.has(transport.driverFeatures(), VirtioFeatures.VERSION_1));
        }
        if ((status & DeviceStatus.DRIVER_OK) != 0) {
            assertTrue((status & DeviceStatus.FEATURES_OK) != 0, "DRIVER_OK without FEATURES_OK");
        }
        if (reset) {
            assertEquals(0, status);
            assertEquals(0, transport.interruptStatus());
        }
        assertEquals(MAGIC, transport.read(MAGIC_VALUE, 4));
    }
}
