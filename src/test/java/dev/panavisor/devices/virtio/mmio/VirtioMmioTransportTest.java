package dev.panavisor.devices.virtio.mmio;

import static dev.panavisor.devices.virtio.mmio.MmioRegisters.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.InterruptLine;
import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.devices.virtio.queue.VirtqueueException;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class VirtioMmioTransportTest {
    static final long DEVICE_BIT_0 = 1L;
    static final long OFFERED = VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX | DEVICE_BIT_0;

    /** A device with two queues that records what the transport asks of it. */
    static class RecordingDevice implements VirtioDevice {
        final List<String> calls = new ArrayList<>();
        List<SplitVirtqueue> queues;
        long features;
        VirtioInterrupt interrupt;
        RuntimeException failOnNotify;

        @Override
        public int deviceType() {
            return 42;
        }

        @Override
        public String name() {
            return "test-device";
        }

        @Override
        public long offeredFeatures() {
            return OFFERED;
        }

        @Override
        public int queueCount() {
            return 2;
        }

        @Override
        public int maxQueueSize(int index) {
            return index == 0 ? 16 : 8;
        }

        @Override
        public long readConfig(int offset, int size) {
            return 0x1000 + offset * 10L + size;
        }

        @Override
        public void writeConfig(int offset, int size, long value) {
            calls.add("config " + offset + "=" + value);
        }

        @Override
        public void activate(long features, List<SplitVirtqueue> queues, GuestMemory memory,
                VirtioInterrupt interrupt) {
            calls.add("activate");
            this.features = features;
            this.queues = queues;
            this.interrupt = interrupt;
        }

        @Override
        public void queueNotify(int index) {
            calls.add("notify " + index);
            if (failOnNotify != null) {
                throw failOnNotify;
            }
        }

        @Override
        public void failed() {
            calls.add("failed");
        }

        @Override
        public void reset() {
            calls.add("reset");
        }
    }

    /** Remembers every level change. */
    static final class RecordingLine implements InterruptLine {
        final List<Boolean> levels = new ArrayList<>();

        @Override
        public void set(boolean asserted) {
            levels.add(asserted);
        }

        boolean level() {
            return !levels.isEmpty() && levels.getLast();
        }
    }

    final GuestMemory memory = new HeapGuestMemory(0x20000);
    final RecordingDevice device = new RecordingDevice();
    final RecordingLine line = new RecordingLine();
    final VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, line);
    final MmioDriver driver = new MmioDriver(transport, memory);

    void bringUp(long features) {
        assertTrue(driver.negotiate(features));
        driver.setUpQueue(0, 0x1000);
        driver.setUpQueue(1, 0x3000);
        driver.driverOk();
    }

    @Test
    void identification_registers_read_as_the_spec_says() {
        assertEquals(0x74726976, driver.read(MAGIC_VALUE));
        assertEquals(2, driver.read(VERSION));
        assertEquals(42, driver.read(DEVICE_ID));
        assertEquals(VirtioMmioTransport.VENDOR, driver.read(VENDOR_ID));
        assertEquals(OFFERED, driver.deviceFeatures());
        driver.write(DEVICE_FEATURES_SEL, 2);
        assertEquals(0, driver.read(DEVICE_FEATURES), "no feature bits beyond 63");
        driver.write(DEVICE_FEATURES_SEL, -1);
        assertEquals(0, driver.read(DEVICE_FEATURES), "word 0xffffffff is far beyond 63 too");
        driver.write(QUEUE_SEL, 0);
        assertEquals(16, driver.read(QUEUE_NUM_MAX));
        driver.write(QUEUE_SEL, 1);
        assertEquals(8, driver.read(QUEUE_NUM_MAX));
        driver.write(QUEUE_SEL, 2);
        assertEquals(0, driver.read(QUEUE_NUM_MAX), "a queue that does not exist has maximum size 0");
        assertEquals(0, driver.read(QUEUE_READY));
        assertEquals(-1, driver.read(SHM_LEN_LOW), "no shared memory regions");
        assertEquals(0, driver.read(STATUS));
        assertEquals(0, driver.read(INTERRUPT_STATUS));
    }

    @Test
    void control_registers_answer_only_aligned_32_bit_accesses_and_config_space_goes_to_the_device() {
        assertEquals(0, transport.read(MAGIC_VALUE, 1));
        assertEquals(0, transport.read(MAGIC_VALUE + 2, 4));
        assertEquals(0x1000 + 30 + 2, transport.read(CONFIG + 3, 2));
        transport.write(CONFIG + 8, 1, 7);
        assertEquals(List.of("config 8=7"), device.calls);
        transport.write(STATUS, 1, DeviceStatus.ACKNOWLEDGE);
        assertEquals(0, driver.read(STATUS), "a byte write to Status is ignored");
    }

    @Test
    void feature_negotiation_accepts_a_subset_of_the_offered_features() {
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1 | DEVICE_BIT_0));
        assertEquals(VirtioFeatures.VERSION_1 | DEVICE_BIT_0, transport.driverFeatures());
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK,
                driver.read(STATUS));
    }

    @Test
    void feature_negotiation_refuses_features_that_were_not_offered() {
        assertFalse(driver.negotiate(VirtioFeatures.VERSION_1 | (1L << 5)));
        assertTrue(transport.lastError().contains("not offered"), transport.lastError());
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER, driver.read(STATUS));

        assertFalse(driver.negotiate(DEVICE_BIT_0), "a driver that does not accept VERSION_1 is legacy");
        assertTrue(transport.lastError().contains("VERSION_1"), transport.lastError());

        driver.write(STATUS, 0);
        driver.addStatus(DeviceStatus.ACKNOWLEDGE);
        driver.addStatus(DeviceStatus.DRIVER);
        driver.writeDriverFeatures(VirtioFeatures.VERSION_1);
        driver.write(DRIVER_FEATURES_SEL, 2);
        driver.write(DRIVER_FEATURES, 1);
        driver.addStatus(DeviceStatus.FEATURES_OK);
        assertEquals(0, driver.read(STATUS) & DeviceStatus.FEATURES_OK, "a bit beyond 63 was never offered");
    }

    @Test
    void features_cannot_change_after_features_ok() {
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.writeDriverFeatures(OFFERED);
        assertEquals(VirtioFeatures.VERSION_1, transport.driverFeatures());
    }

    @Test
    void status_bits_must_be_set_in_order_and_cannot_be_cleared() {
        driver.write(STATUS, DeviceStatus.DRIVER);
        assertEquals(0, driver.read(STATUS), "DRIVER before ACKNOWLEDGE is ignored");
        driver.addStatus(DeviceStatus.ACKNOWLEDGE);
        driver.addStatus(DeviceStatus.DRIVER);
        driver.addStatus(DeviceStatus.DRIVER_OK);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER, driver.read(STATUS),
                "DRIVER_OK before FEATURES_OK is ignored");
        assertFalse(device.calls.contains("activate"));
        driver.write(STATUS, DeviceStatus.ACKNOWLEDGE);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER, driver.read(STATUS), "bits cannot be cleared");
        driver.addStatus(DeviceStatus.FAILED);
        assertEquals(DeviceStatus.FAILED, driver.read(STATUS) & DeviceStatus.FAILED);
    }

    @Test
    void driver_ok_activates_the_device_with_the_queues_the_driver_set_up() {
        bringUp(VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX);
        assertEquals(List.of("activate"), device.calls);
        assertEquals(VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX, device.features);
        assertEquals(2, device.queues.size());
        assertEquals(QueueLayout.contiguous(0x1000, 16), device.queues.get(0).layout());
        assertEquals(QueueLayout.contiguous(0x3000, 8), device.queues.get(1).layout());
        driver.write(QUEUE_SEL, 1);
        assertEquals(1, driver.read(QUEUE_READY));

        driver.notify(1);
        driver.notify(7); // no such queue: ignored
        transport.notifyQueue(-1);
        assertEquals(List.of("activate", "notify 1"), device.calls);
        transport.notifyQueue(0); // the ioeventfd path
        assertEquals("notify 0", device.calls.getLast());
    }

    /** Whether a write to {@code register} is one the VMM lets KVM hold back ({@link MmioRegisters#STORED_WRITES}). */
    static boolean stored(int register) {
        return MmioRegisters.STORED_WRITES.stream()
                .anyMatch(r -> register >= r.offset() && register < r.offset() + r.size());
    }

    /**
     * KVM holds back the guest's writes to the stored registers until its next exit (docs/boot.md, "Writes that do
     * not exit"): a driver whose writes there arrive only just before its next read, or its next write elsewhere,
     * must set the device up exactly as one whose writes arrive at once.
     */
    @Test
    void writes_to_the_stored_registers_may_arrive_at_the_next_exit() {
        List<long[]> held = new ArrayList<>();
        int[] heldInAll = new int[1];
        MmioDriver late = new MmioDriver(transport, memory) {
            private void exit() {
                held.forEach(w -> transport.write(w[0], 4, w[1]));
                held.clear();
            }

            @Override
            public int read(int register) {
                exit();
                return super.read(register);
            }

            @Override
            public void write(int register, long value) {
                if (stored(register)) {
                    held.add(new long[] {register, value & 0xffff_ffffL});
                    heldInAll[0]++;
                    return;
                }
                exit();
                super.write(register, value);
            }
        };
        assertTrue(late.negotiate(VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX));
        late.setUpQueue(0, 0x1000);
        late.setUpQueue(1, 0x3000);
        late.driverOk();

        assertEquals(4 + 2 * 8, heldInAll[0], "feature words and selectors; each queue's selector, size, addresses");
        assertEquals(List.of("activate"), device.calls);
        assertEquals(VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX, device.features);
        assertEquals(QueueLayout.contiguous(0x1000, 16), device.queues.get(0).layout());
        assertEquals(QueueLayout.contiguous(0x3000, 8), device.queues.get(1).layout());
    }

    @Test
    void no_register_whose_write_acts_at_once_is_held_back() {
        for (int register : new int[] {STATUS, QUEUE_READY, QUEUE_NOTIFY, INTERRUPT_ACK, QUEUE_RESET, SHM_SEL,
                CONFIG, CONFIG + 4}) {
            assertFalse(stored(register), MmioRegisters.name(register));
        }
        for (int register : new int[] {DEVICE_FEATURES_SEL, DRIVER_FEATURES, DRIVER_FEATURES_SEL, QUEUE_SEL,
                QUEUE_NUM, QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW,
                QUEUE_DEVICE_HIGH}) {
            assertTrue(stored(register), MmioRegisters.name(register));
        }
    }

    @Test
    void notifications_before_driver_ok_are_ignored() {
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.setUpQueue(0, 0x1000);
        driver.notify(0);
        assertTrue(device.calls.isEmpty());
    }

    @Test
    void queue_registers_are_frozen_while_the_queue_is_ready() {
        bringUp(VirtioFeatures.VERSION_1);
        driver.write(QUEUE_SEL, 0);
        driver.write(QUEUE_DESC_LOW, 0x9000);
        driver.write(QUEUE_NUM, 2);
        assertEquals(QueueLayout.contiguous(0x1000, 16), device.queues.get(0).layout());
        // Writing 0 to QueueReady stops the device using that queue.
        driver.write(QUEUE_READY, 0);
        assertEquals(0, driver.read(QUEUE_READY));
        assertFalse(device.queues.get(0).isEnabled());
        driver.notify(0);
        assertFalse(device.calls.contains("notify 0"));
    }

    @Test
    void writing_zero_to_status_resets_device_queues_features_and_interrupts() {
        bringUp(VirtioFeatures.VERSION_1);
        device.interrupt.usedBuffers();
        assertTrue(line.level());

        driver.write(STATUS, 0);
        assertEquals("reset", device.calls.getLast());
        assertEquals(0, driver.read(STATUS));
        assertEquals(0, driver.read(INTERRUPT_STATUS));
        assertFalse(line.level(), "reset lowers the interrupt line");
        assertEquals(0, transport.driverFeatures());
        for (int q = 0; q < 2; q++) {
            driver.write(QUEUE_SEL, q);
            assertEquals(0, driver.read(QUEUE_READY), "queue " + q);
        }
        driver.notify(0);
        assertEquals("reset", device.calls.getLast(), "a reset device gets no notifications");

        // And it can be brought up again.
        bringUp(VirtioFeatures.VERSION_1);
        assertEquals("activate", device.calls.getLast());
    }

    @Test
    void the_line_rises_at_the_first_event_the_driver_has_not_read_and_falls_when_it_reads_the_status() {
        bringUp(VirtioFeatures.VERSION_1);
        assertTrue(line.levels.isEmpty());

        device.interrupt.usedBuffers();
        device.interrupt.usedBuffers();
        assertEquals(List.of(true), line.levels, "one rising edge, however many completions before the read");
        assertEquals(INTERRUPT_USED_BUFFER, driver.read(INTERRUPT_STATUS));
        assertFalse(line.level(), "the read takes the interrupt");

        int generation = driver.read(CONFIG_GENERATION);
        device.interrupt.configChanged();
        assertEquals(generation + 1, driver.read(CONFIG_GENERATION));
        assertEquals(List.of(true, false, true), line.levels, "an event after the read is a new interrupt");
        assertEquals(INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE, driver.read(INTERRUPT_STATUS));

        driver.write(INTERRUPT_ACK, INTERRUPT_USED_BUFFER);
        assertEquals(INTERRUPT_CONFIG_CHANGE, transport.interruptStatus(), "still a configuration change pending");
        driver.write(INTERRUPT_ACK, INTERRUPT_CONFIG_CHANGE);
        assertEquals(0, transport.interruptStatus());
        assertEquals(List.of(true, false, true, false), line.levels, "the acknowledgements move no line");

        device.interrupt.usedBuffers();
        assertEquals(INTERRUPT_USED_BUFFER, driver.handleInterrupt());
        assertEquals(List.of(true, false, true, false, true, false), line.levels);
        assertEquals(0, transport.interruptStatus());
    }

    /**
     * The InterruptACK write may reach the device late (KVM's coalesced ring hands it over at the next exit). A
     * completion that came after the driver's read must then survive the late acknowledgement of what it read, and
     * bring an interrupt of its own: with the old rule (clear what the ACK names; a rising edge only from an
     * InterruptStatus of 0) the driver got no interrupt and then read 0, and the completion was lost.
     */
    @Test
    void a_late_acknowledgement_never_clears_an_event_raised_after_the_read_it_acknowledges() {
        bringUp(VirtioFeatures.VERSION_1);
        device.interrupt.usedBuffers();
        int seen = driver.read(INTERRUPT_STATUS); // the handler's read; its ACK waits in the ring
        assertEquals(INTERRUPT_USED_BUFFER, seen);

        device.interrupt.usedBuffers(); // the worker answers the next request meanwhile
        assertEquals(List.of(true, false, true), line.levels, "an interrupt for it");

        driver.write(INTERRUPT_ACK, seen); // the ring drained at the next exit
        assertEquals(INTERRUPT_USED_BUFFER, driver.read(INTERRUPT_STATUS), "the new completion is still announced");
        driver.write(INTERRUPT_ACK, INTERRUPT_USED_BUFFER);
        assertEquals(0, transport.interruptStatus());
        assertFalse(transport.interruptLineHigh());
    }

    @Test
    void a_device_error_sets_device_needs_reset_and_interrupts_until_the_driver_resets() {
        bringUp(VirtioFeatures.VERSION_1);
        device.failOnNotify = new VirtqueueException("descriptor chain from head 3 loops");
        driver.notify(0);
        assertEquals(DeviceStatus.DEVICE_NEEDS_RESET, driver.read(STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
        assertTrue(line.level(), "a configuration-change interrupt");
        assertEquals(INTERRUPT_CONFIG_CHANGE, driver.read(INTERRUPT_STATUS));
        assertTrue(transport.lastError().contains("loops"), transport.lastError());
        assertEquals("failed", device.calls.getLast(), "the device is told: " + device.calls);

        int notifications = device.calls.size();
        driver.notify(0);
        assertEquals(notifications, device.calls.size(), "a broken device is left alone");

        // The driver writing back the status it read (including DEVICE_NEEDS_RESET) plus FAILED is allowed.
        driver.addStatus(DeviceStatus.FAILED);
        assertEquals(DeviceStatus.FAILED, driver.read(STATUS) & DeviceStatus.FAILED);

        device.failOnNotify = null;
        driver.write(STATUS, 0);
        assertEquals(0, driver.read(STATUS));
        bringUp(VirtioFeatures.VERSION_1);
        driver.notify(0);
        assertEquals("notify 0", device.calls.getLast());
    }

    @Test
    void a_queue_with_a_bad_layout_is_not_made_ready_and_driver_ok_then_fails() {
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.write(QUEUE_SEL, 0);
        driver.write(QUEUE_NUM, 16);
        driver.write(QUEUE_DESC_LOW, 0x1008); // not 16-byte aligned
        driver.write(QUEUE_DRIVER_LOW, 0x2000);
        driver.write(QUEUE_DEVICE_LOW, 0x3000);
        driver.write(QUEUE_READY, 1);
        assertEquals(0, driver.read(QUEUE_READY));
        assertTrue(transport.lastError().contains("aligned"), transport.lastError());
        assertEquals(DeviceStatus.DEVICE_NEEDS_RESET, driver.read(STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);

        driver.write(STATUS, 0);
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.setUpQueue(0, 0x1000); // queue 1 never set up
        driver.driverOk();
        assertFalse(device.calls.contains("activate"));
        assertTrue(transport.lastError().contains("queue 1"), transport.lastError());
        assertEquals(DeviceStatus.DEVICE_NEEDS_RESET, driver.read(STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
    }

    @Test
    void queue_size_must_be_a_power_of_two_within_the_maximum() {
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.write(QUEUE_SEL, 1);
        driver.write(QUEUE_NUM, 16); // maximum is 8
        QueueLayout layout = QueueLayout.contiguous(0x3000, 16);
        driver.write(QUEUE_DESC_LOW, layout.descriptorTable());
        driver.write(QUEUE_DRIVER_LOW, layout.availableRing());
        driver.write(QUEUE_DEVICE_LOW, layout.usedRing());
        driver.write(QUEUE_READY, 1);
        assertEquals(0, driver.read(QUEUE_READY));
        assertTrue(transport.lastError().contains("power of two"), transport.lastError());
    }

    @Test
    void a_device_without_version_1_cannot_sit_on_a_version_2_transport() {
        VirtioDevice legacy = new RecordingDevice() {
            @Override
            public long offeredFeatures() {
                return DEVICE_BIT_0;
            }
        };
        assertThrows(VirtioException.class, () -> new VirtioMmioTransport(legacy, memory, line));
    }

    @Test
    void kernel_parameter_declares_size_base_and_irq() {
        assertEquals("virtio_mmio.device=0x1000@0xd0000000:5", MmioKernelParameter.of(0xd000_0000L, 0x1000, 5));
        assertThrows(IllegalArgumentException.class, () -> MmioKernelParameter.of(0xd000_0000L, 0, 5));
    }
}
