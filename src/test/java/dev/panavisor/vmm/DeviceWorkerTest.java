package dev.panavisor.vmm;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.InterruptLine;
import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.block.DiskBackend;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.mmio.MmioDriver;
import dev.panavisor.devices.virtio.mmio.MmioRegisters;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A device worker serving a virtio-blk device with real eventfds, driven by the mock driver through a bus, the way a
 * vCPU thread reaches the device (no KVM: the QueueNotify write that KVM would turn into an ioeventfd signal reaches
 * the transport, which routes it to the worker's eventfd).
 */
class DeviceWorkerTest {
    static final int SECTORS = 64;
    final GuestMemory memory = new HeapGuestMemory(1 << 20);
    final Semaphore interrupts = new Semaphore(0);
    final InterruptLine line = level -> {
        if (level) {
            interrupts.release();
        }
    };
    final List<String> events = new CopyOnWriteArrayList<>();
    DeviceWorker worker;

    @AfterEach
    void stopWorker() {
        if (worker != null) {
            worker.close();
            assertFalse(worker.isAlive(), "close() joins the worker");
        }
    }

    /** Builds the device on a bus, starts its worker and brings the driver to DRIVER_OK with queue 0 set up. */
    DriverQueue start(DiskBackend disk, MmioDriver[] driverOut) {
        VirtioMmioTransport transport = new VirtioMmioTransport(new VirtioBlock(disk, "vda"), memory, line);
        worker = new DeviceWorker("test", transport, e -> events.add("worker failed: " + e));
        worker.start();
        MmioDriver driver = MmioDriver.onBus(transport, memory);
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1 | VirtioBlock.F_FLUSH));
        DriverQueue queue = driver.setUpQueue(0, 0x1000);
        driver.driverOk();
        driverOut[0] = driver;
        return queue;
    }

    /** A disk that records what happens, and can hold a read until the test lets it go. */
    final class RecordingDisk implements DiskBackend {
        final HeapDiskBackend inner = new HeapDiskBackend(new byte[SECTORS * 512], false);
        final CountDownLatch readEntered = new CountDownLatch(1);
        volatile CountDownLatch holdReads = new CountDownLatch(0);
        volatile long flushStatusAddress = -1;

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public long sizeBytes() {
            return inner.sizeBytes();
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public void read(long offset, ByteBuffer destination) throws IOException {
            events.add("read on " + Thread.currentThread().getName());
            readEntered.countDown();
            try {
                holdReads.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            inner.read(offset, destination);
        }

        @Override
        public void write(long offset, ByteBuffer source) throws IOException {
            events.add("write");
            inner.write(offset, source);
        }

        @Override
        public void flush() {
            // The flush's status byte must not say OK before the data is durable, i.e. before this returns.
            events.add("flush, status byte then " + memory.readU8(flushStatusAddress));
        }

        @Override
        public void close() {
        }
    }

    @Test
    void a_notification_is_served_on_the_worker_thread_and_answered_with_an_interrupt() throws Exception {
        RecordingDisk disk = new RecordingDisk();
        MmioDriver[] driver = new MmioDriver[1];
        DriverQueue queue = start(disk, driver);
        memory.writeU32(0x8000, 0); // VIRTIO_BLK_T_IN
        memory.writeU64(0x8008, 1);
        memory.writeU8(0x8100, 0xff);
        queue.add(readable(0x8000, 16), writable(0x9000, 512), writable(0x8100, 1));
        driver[0].notify(0); // on this thread, as a vCPU would; the request must not be served here

        assertTrue(interrupts.tryAcquire(10, TimeUnit.SECONDS), "the worker raised the interrupt");
        assertEquals(List.of("read on device-test"), events);
        assertEquals(new DriverQueue.Used(0, 513), queue.pollUsed());
        assertEquals(0, memory.readU8(0x8100));
    }

    @Test
    void a_reset_waits_for_the_request_in_flight_and_nothing_is_served_after_it() throws Exception {
        RecordingDisk disk = new RecordingDisk();
        disk.holdReads = new CountDownLatch(1);
        MmioDriver[] driver = new MmioDriver[1];
        DriverQueue queue = start(disk, driver);
        memory.writeU32(0x8000, 0);
        memory.writeU64(0x8008, 0);
        memory.writeU8(0x8100, 0xff);
        queue.add(readable(0x8000, 16), writable(0x9000, 512), writable(0x8100, 1));
        driver[0].notify(0);
        assertTrue(disk.readEntered.await(10, TimeUnit.SECONDS), "the worker started the read");

        // A vCPU resets the device while the read is in flight: its register write waits for the device's lock.
        CompletableFuture<Void> reset = CompletableFuture.runAsync(() -> driver[0].write(MmioRegisters.STATUS, 0));
        Thread.sleep(300);
        assertFalse(reset.isDone(), "the reset does not run in the middle of the request");
        disk.holdReads.countDown();
        reset.get(10, TimeUnit.SECONDS);

        assertEquals(new DriverQueue.Used(0, 513), queue.pollUsed(), "the request in flight completed first");
        assertEquals(0, driver[0].read(MmioRegisters.STATUS), "then the device was reset");
        // After the reset the device must not touch the old queue (virtio 1.2 §2.4.1), even when notified.
        queue.add(readable(0x8000, 16), writable(0x9000, 512), writable(0x8200, 1));
        driver[0].notify(0);
        worker.close();
        assertNull(queue.pollUsed());
        assertEquals(1, events.size(), String.valueOf(events));
        assertEquals(0, driver[0].read(MmioRegisters.STATUS) & DeviceStatus.DRIVER_OK);
    }

    @Test
    void a_flush_is_answered_ok_only_after_the_writes_before_it_reached_the_disk_and_it_returned() throws Exception {
        RecordingDisk disk = new RecordingDisk();
        MmioDriver[] driver = new MmioDriver[1];
        DriverQueue queue = start(disk, driver);
        byte[] data = new byte[512];
        java.util.Arrays.fill(data, (byte) 0x5a);
        memory.writeU32(0x8000, 1); // VIRTIO_BLK_T_OUT, sector 3
        memory.writeU64(0x8008, 3);
        memory.write(0x9000, data);
        memory.writeU8(0x8100, 0xff);
        memory.writeU32(0x8200, 4); // VIRTIO_BLK_T_FLUSH
        memory.writeU64(0x8208, 0);
        memory.writeU8(0x8300, 0xff);
        disk.flushStatusAddress = 0x8300;
        queue.add(readable(0x8000, 16), readable(0x9000, 512), writable(0x8100, 1));
        queue.add(readable(0x8200, 16), writable(0x8300, 1));
        driver[0].notify(0);

        // Two small requests: each is answered on its own (VirtioBlock); the line, raised at the first answer, stays
        // up until the driver acknowledges it, so the test waits for the second answer in the used ring.
        assertTrue(interrupts.tryAcquire(10, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (queue.usedIdx() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(List.of("write", "flush, status byte then 255"), events);
        assertEquals(0, memory.readU8(0x8100));
        assertEquals(0, memory.readU8(0x8300), "OK once flush() returned");
        ByteBuffer back = ByteBuffer.allocate(512);
        disk.inner.read(3 * 512, back);
        assertArrayEquals(data, back.array());
        assertEquals(2, countUsed(queue));
    }

    @Test
    void a_disk_warm_up_starts_with_the_worker_waits_through_the_guest_s_requests_and_is_joined_by_close()
            throws Exception {
        RecordingDisk disk = new RecordingDisk();
        PathWarmUp warmUp = BlockPathWarmUp.thread(disk, "device-test", 2);
        VirtioMmioTransport transport = startWith(disk, warmUp);
        assertTrue(warmUp.isAlive(), "started with the worker");
        MmioDriver driver = MmioDriver.onBus(transport, memory);
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        DriverQueue queue = driver.setUpQueue(0, 0x1000);
        driver.driverOk();
        memory.writeU32(0x8000, 0); // VIRTIO_BLK_T_IN of sector 0
        memory.writeU64(0x8008, 0);
        memory.writeU8(0x8100, 0xff);
        queue.add(readable(0x8000, 16), writable(0x9000, 512), writable(0x8100, 1));
        driver.notify(0);
        assertTrue(interrupts.tryAcquire(10, TimeUnit.SECONDS));
        assertEquals(new DriverQueue.Used(0, 513), queue.pollUsed());
        assertEquals(List.of("read on device-test"), events, "the guest's request does not begin the warm-up");

        worker.close();
        assertFalse(warmUp.isAlive(), "close() joins the warm-up too");
        assertEquals(0, warmUp.served());
        assertEquals(List.of("read on device-test"), events);
    }

    @Test
    void a_begun_warm_up_reads_on_its_own_thread_and_never_writes() throws Exception {
        RecordingDisk disk = new RecordingDisk();
        PathWarmUp warmUp = BlockPathWarmUp.thread(disk, "device-test", 2);
        startWith(disk, warmUp);
        warmUp.begin();
        assertTrue(warmUp.awaitEnd(java.time.Duration.ofSeconds(30)));
        assertEquals(2, warmUp.served(), "both scratch reads answered OK");
        assertTrue(events.stream().allMatch("read on device-test-warm-up"::equals), String.valueOf(events));
        assertFalse(events.isEmpty());
    }

    @Test
    void a_polling_worker_serves_a_request_that_made_no_notification() throws Exception {
        MmioDriver driver = startPolling(TimeUnit.SECONDS.toNanos(60)); // a window wider than the test
        DriverQueue queue = driver.setUpQueue(0, 0x1000);
        driver.driverOk();
        addRead(queue, 0x8100);
        assertTrue(mustNotify(queue, 0, 1), "the first request of a queue asks for a notification");
        driver.notify(0);
        assertTrue(awaitUsed(queue, 1), "the first request was answered");

        // The worker now polls with the queue's notifications held: avail_event stayed behind, so the driver's
        // rule (virtio 1.2 §2.7.10) says the next request needs no notification, and none is sent.
        addRead(queue, 0x8200);
        assertFalse(mustNotify(queue, 1, 2), "avail_event " + queue.availEvent() + " asks for no notification");
        assertTrue(awaitUsed(queue, 2), "the worker found the second request by polling");
        assertEquals(List.of("read on device-test", "read on device-test"), events);
        assertEquals(0, memory.readU8(0x8200));
    }

    @Test
    void a_polling_worker_asks_for_a_notification_before_it_sleeps() throws Exception {
        MmioDriver driver = startPolling(TimeUnit.MILLISECONDS.toNanos(1));
        DriverQueue queue = driver.setUpQueue(0, 0x1000);
        driver.driverOk();
        addRead(queue, 0x8100);
        driver.notify(0);
        assertTrue(awaitUsed(queue, 1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (queue.availEvent() != 1 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(1, queue.availEvent(), "after its window the worker set avail_event to its next index");

        addRead(queue, 0x8200);
        assertTrue(mustNotify(queue, 1, 2), "so the next request asks for a notification");
        Thread.sleep(300);
        assertEquals(1, queue.usedIdx(), "a sleeping worker waits for it");
        driver.notify(0);
        assertTrue(awaitUsed(queue, 2), "and serves the request once notified");
    }

    /**
     * A virtio-blk device with EVENT_IDX whose worker polls its queue for {@code windowNanos} (also the ceiling, so
     * the window can only shrink, after an idle stretch longer than itself); before DRIVER_OK.
     */
    private MmioDriver startPolling(long windowNanos) {
        VirtioMmioTransport transport = new VirtioMmioTransport(
                new VirtioBlock(new RecordingDisk(), "vda"), memory, line);
        worker = new DeviceWorker("test", transport, e -> events.add("worker failed: " + e));
        worker.poll(new QueuePolling(transport, new int[] {0}, windowNanos, windowNanos));
        worker.start();
        MmioDriver driver = MmioDriver.onBus(transport, memory);
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX));
        return driver;
    }

    /** Makes a read of sector 0 available (not notified), its status byte at {@code status}. */
    private void addRead(DriverQueue queue, long status) {
        memory.writeU32(0x8000, 0); // VIRTIO_BLK_T_IN
        memory.writeU64(0x8008, 0);
        memory.writeU8(status, 0xff);
        queue.add(readable(0x8000, 16), writable(0x9000, 512), writable(status, 1));
    }

    /** Linux's vring_need_event: whether moving the available index from {@code old} to {@code now} notifies. */
    private static boolean mustNotify(DriverQueue queue, int old, int now) {
        return ((now - queue.availEvent() - 1) & 0xffff) < ((now - old) & 0xffff);
    }

    private static boolean awaitUsed(DriverQueue queue, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (queue.usedIdx() < count && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        return queue.usedIdx() >= count;
    }

    /** Starts a worker for a virtio-blk device on {@code disk}, with {@code warmUp} started and closed with it. */
    private VirtioMmioTransport startWith(DiskBackend disk, PathWarmUp warmUp) {
        VirtioMmioTransport transport = new VirtioMmioTransport(new VirtioBlock(disk, "vda"), memory, line);
        worker = new DeviceWorker("test", transport, e -> events.add("worker failed: " + e));
        worker.startAndCloseWith(warmUp);
        worker.start();
        return transport;
    }

    private static int countUsed(DriverQueue queue) {
        int n = 0;
        while (queue.pollUsed() != null) {
            n++;
        }
        return n;
    }
}
