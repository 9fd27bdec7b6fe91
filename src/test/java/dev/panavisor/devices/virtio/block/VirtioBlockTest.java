package dev.panavisor.devices.virtio.block;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.queue.VirtqueueException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class VirtioBlockTest {
    static final int SECTORS = 64;
    static final int OK = BlockStatus.OK.code();
    static final int IOERR = BlockStatus.IOERR.code();
    static final int UNSUPP = BlockStatus.UNSUPPORTED.code();

    final HeapDiskBackend disk = new HeapDiskBackend(pattern(SECTORS * 512), false);
    final VirtioBlock device = new VirtioBlock(disk, "panavisor-test");
    final BlockDriver driver = new BlockDriver(device);

    static byte[] pattern(int size) {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) (i * 7 + i / 512);
        }
        return bytes;
    }

    @Test
    void offers_version_1_flush_and_seg_max_and_reports_capacity_in_sectors() {
        long features = device.offeredFeatures();
        assertTrue(VirtioFeatures.has(features, VirtioFeatures.VERSION_1 | VirtioBlock.F_FLUSH | VirtioBlock.F_SEG_MAX));
        assertEquals(0, features & VirtioBlock.F_RO);
        assertEquals(SECTORS, device.readConfig(0, 8));
        assertEquals(SECTORS, device.readConfig(0, 4));
        assertEquals(VirtioBlock.QUEUE_SIZE - 2, device.readConfig(12, 4));
        assertEquals(0, device.readConfig(200, 4), "beyond the structure reads as zero");
    }

    @Test
    void reads_sectors_into_guest_memory() {
        BlockDriver.Completion done = driver.read(3, 1024);
        assertEquals(OK, done.status());
        assertEquals(1024 + 1, done.usedLength(), "data plus the status byte");
        assertArrayEquals(Arrays.copyOfRange(disk.contents(), 3 * 512, 5 * 512),
                driver.memory.readBytes(BlockDriver.DATA, 1024));
        assertEquals(List.of("used"), driver.interrupts);
    }

    @Test
    void writes_guest_data_to_the_disk_and_nothing_else() {
        byte[] before = disk.contents();
        byte[] data = new byte[512];
        Arrays.fill(data, (byte) 0x5a);
        BlockDriver.Completion done = driver.write(10, data);
        assertEquals(OK, done.status());
        assertEquals(1, done.usedLength(), "only the status byte was written into the guest");
        byte[] after = disk.contents();
        assertArrayEquals(data, Arrays.copyOfRange(after, 10 * 512, 11 * 512));
        System.arraycopy(before, 10 * 512, after, 10 * 512, 512);
        assertArrayEquals(before, after, "no other byte changed");
    }

    @Test
    void data_split_over_descriptors_and_header_sharing_a_descriptor_work_because_framing_is_free() {
        // Write: header and the first half of the data in one descriptor, the rest in another.
        byte[] data = pattern(1024);
        driver.header(BlockDriver.DATA, BlockRequest.T_OUT, 20);
        driver.memory.write(BlockDriver.DATA + 16, data, 0, 700);
        driver.memory.write(BlockDriver.DATA + 0x1000, data, 700, 324);
        BlockDriver.Completion done = driver.submit(BlockDriver.STATUS, readable(BlockDriver.DATA, 16 + 700),
                readable(BlockDriver.DATA + 0x1000, 324), writable(BlockDriver.STATUS, 1));
        assertEquals(OK, done.status());
        assertArrayEquals(data, Arrays.copyOfRange(disk.contents(), 20 * 512, 22 * 512));

        // Read: the data over three descriptors, the status byte at the end of the last one.
        long buffer = 0x40000;
        driver.header(BlockDriver.HEADER, BlockRequest.T_IN, 20);
        done = driver.submit(buffer + 0x2000 + 100, readable(BlockDriver.HEADER, 16), writable(buffer, 100),
                writable(buffer + 0x1000, 824), writable(buffer + 0x2000, 101));
        assertEquals(OK, done.status());
        assertEquals(1025, done.usedLength());
        byte[] back = new byte[1024];
        driver.memory.read(buffer, back, 0, 100);
        driver.memory.read(buffer + 0x1000, back, 100, 824);
        driver.memory.read(buffer + 0x2000, back, 924, 100);
        assertArrayEquals(data, back);
    }

    /**
     * A host file that fails (a full disk): the guest gets IOERR for each write, --verbose's log a line for each,
     * and the user, verbose or not, a line at the 1st and 10th failure. A request the guest got wrong is its own
     * business: --verbose only.
     */
    @Test
    void host_failures_reach_the_user_at_each_power_of_ten_and_the_guest_s_own_errors_do_not() {
        VirtioBlock full = new VirtioBlock(new VirtioBlockConcurrencyTest.Delegating(disk) {
            @Override
            public void write(long offset, java.nio.ByteBuffer[] sources) throws java.io.IOException {
                throw new java.io.IOException("No space left on device");
            }
        }, "full");
        java.util.List<String> verbose = new java.util.ArrayList<>();
        java.util.List<String> user = new java.util.ArrayList<>();
        full.onRequestError(verbose::add);
        full.onHostError(user::add);
        BlockDriver guest = new BlockDriver(full);
        for (int i = 0; i < 12; i++) {
            assertEquals(IOERR, guest.write(i, new byte[512]).status());
        }
        assertEquals(IOERR, guest.read(SECTORS, 512).status(), "beyond the disk: the guest's own error");
        assertEquals(13, verbose.size(), verbose.toString());
        assertEquals(2, user.size(), user.toString());
        assertEquals(full.name() + ": the host's disk failed a request (1 so far; the guest got an I/O error): "
                + "I/O error on " + disk.name() + ": No space left on device", user.getFirst());
        assertTrue(user.get(1).contains("(10 so far"), user.get(1));
    }

    /**
     * A driver that does not take F_FLUSH will never flush (Linux then takes the disk for one without a write cache):
     * each of its writes is made durable before it is answered (§5.2.6.2). With F_FLUSH, a write is not flushed.
     */
    @Test
    void without_f_flush_each_write_is_flushed_before_it_is_answered() {
        assertEquals(OK, driver.write(1, new byte[512]).status());
        assertEquals(0, disk.flushes(), "a driver with F_FLUSH flushes when it needs to");
        VirtioBlock device = new VirtioBlock(disk, "no-flush");
        BlockDriver noFlush = new BlockDriver(device, new dev.panavisor.memory.HeapGuestMemory(1 << 20), false,
                device.offeredFeatures() & ~VirtioBlock.F_FLUSH);
        assertEquals(OK, noFlush.write(2, new byte[512]).status());
        assertEquals(1, disk.flushes());
        assertEquals(OK, noFlush.read(2, 512).status());
        assertEquals(1, disk.flushes(), "a read is not flushed");
    }

    @Test
    void flush_reaches_the_backend() {
        assertEquals(OK, driver.request(BlockRequest.T_FLUSH, 0).status());
        assertEquals(1, disk.flushes());
    }

    /**
     * Linux reports a failed writeback to one fdatasync and then returns 0 for the next, its pages marked clean: a
     * driver that retries a failed flush must not be told OK for writes that never reached the disk (§5.2.6.2).
     */
    @Test
    void after_a_flush_failed_no_later_flush_succeeds() {
        java.util.concurrent.atomic.AtomicInteger flushes = new java.util.concurrent.atomic.AtomicInteger();
        DiskBackend failsOnce = new VirtioBlockConcurrencyTest.Delegating(new HeapDiskBackend(SECTORS * 512)) {
            @Override
            public void flush() throws java.io.IOException {
                if (flushes.incrementAndGet() == 1) {
                    throw new java.io.IOException("Input/output error");
                }
                super.flush();
            }
        };
        VirtioBlock device = new VirtioBlock(failsOnce, "flaky");
        BlockDriver driver = new BlockDriver(device);
        assertEquals(OK, driver.write(1, new byte[512]).status());
        assertEquals(IOERR, driver.request(BlockRequest.T_FLUSH, 0).status());
        assertEquals(IOERR, driver.request(BlockRequest.T_FLUSH, 0).status(), "the retry vouches for nothing");
        assertTrue(device.lastRequestError().contains("an earlier flush failed (Input/output error)"),
                device.lastRequestError());
        assertEquals(1, flushes.get(), "the host is not asked again");
        assertEquals(OK, driver.read(1, 512).status(), "reads go on");
    }

    @Test
    void get_id_returns_the_nul_padded_serial() {
        BlockDriver.Completion done = driver.request(BlockRequest.T_GET_ID, 0, writable(BlockDriver.DATA, 20));
        assertEquals(OK, done.status());
        assertEquals(21, done.usedLength());
        byte[] expected = Arrays.copyOf("panavisor-test".getBytes(), 20);
        assertArrayEquals(expected, driver.memory.readBytes(BlockDriver.DATA, 20));
        assertThrows(dev.panavisor.devices.virtio.VirtioException.class,
                () -> new VirtioBlock(disk, "a serial that is far too long"));
    }

    @Test
    void requests_beyond_the_disk_fail_with_ioerr_and_touch_nothing() {
        byte[] before = disk.contents();
        assertEquals(OK, driver.read(SECTORS - 1, 512).status(), "the last sector is readable");
        assertRefusedAsOutOfRange(driver.read(SECTORS, 512));
        assertRefusedAsOutOfRange(driver.read(SECTORS - 1, 1024)); // starts inside, ends outside
        assertRefusedAsOutOfRange(driver.write(SECTORS - 1, new byte[1024]));
        assertRefusedAsOutOfRange(driver.write(-1L, new byte[1024])); // sector 2^64-1: huge, not negative
        assertRefusedAsOutOfRange(driver.write(Long.MAX_VALUE / 256, new byte[512])); // sector*512 overflows
        assertArrayEquals(before, disk.contents());
    }

    /** Refused by the range check itself, before the backend was asked for anything. */
    private void assertRefusedAsOutOfRange(BlockDriver.Completion done) {
        assertEquals(IOERR, done.status());
        assertTrue(device.lastRequestError().contains("beyond the disk"), device.lastRequestError());
    }

    @Test
    void partial_sectors_short_headers_and_unknown_types_are_answered_not_thrown() {
        assertEquals(IOERR, driver.read(0, 100).status(), "not a whole sector");
        assertEquals(UNSUPP, driver.request(11, 0, readable(BlockDriver.DATA, 16)).status(), "DISCARD");
        assertEquals(IOERR, driver.submit(BlockDriver.STATUS, readable(BlockDriver.HEADER, 8),
                writable(BlockDriver.STATUS, 1)).status(), "8-byte header");
        // No writable byte at all: nothing can be reported, the buffer simply comes back.
        BlockDriver.Completion done = driver.submit(BlockDriver.STATUS, readable(BlockDriver.HEADER, 16));
        assertEquals(0, done.usedLength());
        assertEquals(4, device.requestErrors());
    }

    @Test
    void a_read_only_disk_is_advertised_and_refuses_writes() {
        HeapDiskBackend readOnly = new HeapDiskBackend(pattern(SECTORS * 512), true);
        VirtioBlock roDevice = new VirtioBlock(readOnly, "ro");
        assertEquals(VirtioBlock.F_RO, roDevice.offeredFeatures() & VirtioBlock.F_RO);
        BlockDriver roDriver = new BlockDriver(roDevice);
        assertEquals(IOERR, roDriver.write(0, new byte[512]).status());
        assertEquals(OK, roDriver.read(0, 512).status());
        assertArrayEquals(pattern(SECTORS * 512), readOnly.contents());
    }

    @Test
    void a_data_descriptor_outside_guest_memory_is_a_queue_error_and_the_disk_is_untouched() {
        byte[] before = disk.contents();
        driver.header(BlockDriver.HEADER, BlockRequest.T_OUT, 0);
        driver.queue.add(readable(BlockDriver.HEADER, 16), readable(driver.memory.size() - 256, 512),
                writable(BlockDriver.STATUS, 1));
        assertThrows(VirtqueueException.class, () -> device.queueNotify(0));
        assertArrayEquals(before, disk.contents());
    }

    /** Five 512-byte reads, each in its own chain, published together. */
    private void fiveSmallReads(BlockDriver on) {
        for (int i = 0; i < 5; i++) {
            long status = BlockDriver.STATUS + 16 * i;
            long header = BlockDriver.HEADER + 32 * i;
            on.header(header, BlockRequest.T_IN, i);
            on.queue.add(readable(header, 16), writable(BlockDriver.DATA + 512L * i, 512), writable(status, 1));
        }
    }

    private void assertFiveSmallReadsAnswered(BlockDriver on) {
        for (int i = 0; i < 5; i++) {
            assertEquals(513, on.queue.pollUsed().writtenBytes());
            assertEquals(OK, on.memory.readU8(BlockDriver.STATUS + 16 * i));
        }
        assertArrayEquals(Arrays.copyOf(disk.contents(), 5 * 512), on.memory.readBytes(BlockDriver.DATA, 5 * 512));
    }

    @Test
    void small_requests_of_one_notification_are_answered_one_by_one_in_order() {
        fiveSmallReads(driver);
        device.queueNotify(0);
        // Without EVENT_IDX, a driver that leaves interrupts on hears of each answer.
        assertEquals(List.of("used", "used", "used", "used", "used"), driver.interrupts);
        assertFiveSmallReadsAnswered(driver);
    }

    @Test
    void with_event_idx_a_driver_that_has_not_caught_up_gets_one_interrupt_for_them() {
        BlockDriver withEventIdx = new BlockDriver(device, new dev.panavisor.memory.HeapGuestMemory(1 << 20), true);
        fiveSmallReads(withEventIdx);
        device.queueNotify(0);
        // used_event is still 0, where the driver left it: the first answer crosses it, the others do not.
        assertEquals(List.of("used"), withEventIdx.interrupts);
        assertFiveSmallReadsAnswered(withEventIdx);
    }

    @Test
    void large_requests_of_one_notification_are_answered_together_with_one_interrupt() {
        int large = (int) VirtioBlock.SIDE_BY_SIDE_MIN_BYTES;
        HeapDiskBackend bigDisk = new HeapDiskBackend(pattern(4 * large), false);
        BlockDriver on = new BlockDriver(new VirtioBlock(bigDisk, "big"));
        for (int i = 0; i < 2; i++) {
            long header = BlockDriver.HEADER + 32 * i;
            on.header(header, BlockRequest.T_IN, (long) i * large / 512);
            on.queue.add(readable(header, 16), writable(BlockDriver.DATA + (long) i * large, large),
                    writable(BlockDriver.STATUS + 16 * i, 1));
        }
        on.device.queueNotify(0);
        assertEquals(List.of("used"), on.interrupts);
        assertEquals(large + 1, on.queue.pollUsed().writtenBytes());
        assertEquals(large + 1, on.queue.pollUsed().writtenBytes());
        assertArrayEquals(Arrays.copyOf(bigDisk.contents(), 2 * large),
                on.memory.readBytes(BlockDriver.DATA, 2 * large));
    }
}
