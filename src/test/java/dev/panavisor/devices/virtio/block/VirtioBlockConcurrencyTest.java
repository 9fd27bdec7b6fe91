package dev.panavisor.devices.virtio.block;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.SegmentGuestMemory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The requests of one notification run side by side on the helper threads the VMM gives the device
 * ({@link VirtioBlock#serveConcurrently}), are answered in ring order with one interrupt, and a flush stays a
 * barrier between the writes before it and the requests after it.
 */
class VirtioBlockConcurrencyTest {
    static final int SECTORS = 64;

    final ExecutorService helpers = Executors.newFixedThreadPool(3);

    @AfterEach
    void stopHelpers() throws InterruptedException {
        helpers.shutdownNow();
        assertTrue(helpers.awaitTermination(10, TimeUnit.SECONDS));
    }

    /**
     * Every read (128 KiB, the size from which requests are handed to helpers) waits at a barrier for all four: the
     * batch passes only if its four reads are in flight at once.
     */
    @Test
    void the_large_reads_of_one_batch_are_in_flight_together_and_answered_in_ring_order_with_one_interrupt() {
        int size = (int) VirtioBlock.SIDE_BY_SIDE_MIN_BYTES;
        byte[] contents = VirtioBlockTest.pattern(4 * size);
        CyclicBarrier allFour = new CyclicBarrier(4);
        List<String> threads = Collections.synchronizedList(new ArrayList<>());
        DiskBackend disk = new Delegating(new HeapDiskBackend(contents, false)) {
            @Override
            public void read(long offset, ByteBuffer[] destinations) throws IOException {
                threads.add(Thread.currentThread().getName());
                try {
                    allFour.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                    throw new IOException("the four reads were not in flight together: " + e);
                }
                super.read(offset, destinations);
            }
        };
        VirtioBlock device = new VirtioBlock(disk, "side-by-side");
        device.serveConcurrently(helpers);
        BlockDriver driver = new BlockDriver(device);
        int[] heads = new int[4];
        for (int i = 0; i < 4; i++) {
            long header = BlockDriver.HEADER + 32 * i;
            driver.header(header, BlockRequest.T_IN, (long) i * size / 512);
            heads[i] = driver.queue.add(readable(header, 16), writable(BlockDriver.DATA + (long) size * i, size),
                    writable(BlockDriver.STATUS + 16 * i, 1));
        }

        device.queueNotify(0);

        assertEquals(List.of("used"), driver.interrupts, "one interrupt for the batch");
        for (int i = 0; i < 4; i++) {
            var used = driver.queue.pollUsed();
            assertEquals(heads[i], used.head(), "ring order");
            assertEquals(size + 1, used.writtenBytes());
            assertEquals(BlockStatus.OK.code(), driver.memory.readU8(BlockDriver.STATUS + 16 * i));
            assertArrayEquals(Arrays.copyOfRange(contents, size * i, size * (i + 1)),
                    driver.memory.readBytes(BlockDriver.DATA + (long) size * i, size), "read " + i);
        }
        assertEquals(4, threads.stream().distinct().count(), "four threads: the serving one and three helpers");
    }

    /**
     * Writes A and B (large: side by side), a flush, then write C, in one notification: the flush starts only after
     * A and B have ended, and C starts only after the flush has ended. The writes sleep, so a flush that did not
     * wait would overtake.
     */
    @Test
    void a_flush_in_a_batch_waits_for_the_writes_before_it_and_holds_back_those_after_it() {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        int size = (int) VirtioBlock.SIDE_BY_SIDE_MIN_BYTES;
        HeapDiskBackend heap = new HeapDiskBackend(4 * size);
        DiskBackend disk = new Delegating(heap) {
            @Override
            public void write(long offset, ByteBuffer[] sources) throws IOException {
                String name = "write@" + offset / 512;
                events.add(name + " start");
                sleep(100);
                super.write(offset, sources);
                events.add(name + " end");
            }

            @Override
            public void flush() throws IOException {
                events.add("flush start");
                sleep(50);
                super.flush();
                events.add("flush end");
            }
        };
        VirtioBlock device = new VirtioBlock(disk, "barrier");
        device.serveConcurrently(helpers);
        BlockDriver driver = new BlockDriver(device);
        long[] sectors = {0, size / 512, -1, 2L * size / 512}; // -1: the flush
        for (int i = 0; i < sectors.length; i++) {
            long header = BlockDriver.HEADER + 32 * i;
            long status = BlockDriver.STATUS + 16 * i;
            if (sectors[i] < 0) {
                driver.header(header, BlockRequest.T_FLUSH, 0);
                driver.queue.add(readable(header, 16), writable(status, 1));
            } else {
                driver.header(header, BlockRequest.T_OUT, sectors[i]);
                driver.memory.fill(BlockDriver.DATA + (long) size * i, size, (byte) (i + 1));
                driver.queue.add(readable(header, 16), readable(BlockDriver.DATA + (long) size * i, size),
                        writable(status, 1));
            }
        }

        device.queueNotify(0);

        int flushStart = events.indexOf("flush start");
        int flushEnd = events.indexOf("flush end");
        String second = "write@" + size / 512;
        String third = "write@" + 2 * size / 512;
        assertTrue(events.indexOf("write@0 end") < flushStart && events.indexOf(second + " end") < flushStart,
                "the flush started before the writes ahead of it ended: " + events);
        assertTrue(flushEnd < events.indexOf(third + " start"), "a write after the flush overtook it: " + events);
        assertEquals(1, heap.flushes());
        for (int i = 0; i < sectors.length; i++) {
            assertEquals(BlockStatus.OK.code(), driver.memory.readU8(BlockDriver.STATUS + 16 * i), "request " + i);
        }
        byte[] stored = heap.contents();
        assertEquals(1, stored[0]);
        assertEquals(2, stored[size]);
        assertEquals(4, stored[2 * size]);
    }

    /** Reads smaller than {@link VirtioBlock#SIDE_BY_SIDE_MIN_BYTES} are not worth a thread wake-up: all stay here. */
    @Test
    void small_reads_of_a_batch_run_on_the_serving_thread_in_ring_order() {
        List<String> runs = Collections.synchronizedList(new ArrayList<>());
        DiskBackend disk = new Delegating(new HeapDiskBackend(VirtioBlockTest.pattern(SECTORS * 512), false)) {
            @Override
            public void read(long offset, ByteBuffer[] destinations) throws IOException {
                runs.add(Thread.currentThread().getName() + " " + offset / 512);
                super.read(offset, destinations);
            }
        };
        VirtioBlock device = new VirtioBlock(disk, "small");
        device.serveConcurrently(helpers);
        BlockDriver driver = new BlockDriver(device);
        for (int i = 0; i < 8; i++) {
            long header = BlockDriver.HEADER + 32 * i;
            driver.header(header, BlockRequest.T_IN, 8L * i);
            driver.queue.add(readable(header, 16), writable(BlockDriver.DATA + 4096L * i, 4096),
                    writable(BlockDriver.STATUS + 16 * i, 1));
        }
        device.queueNotify(0);
        String here = Thread.currentThread().getName();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            expected.add(here + " " + 8 * i);
        }
        assertEquals(expected, runs);
    }

    /**
     * A hostile driver republishes one chain every time the device looks at the available index, 2,000 times:
     * the device answers at most a queue's worth before it pops more, so the requests it holds stay bounded (the
     * VMM's memory too) and every one of them is answered.
     */
    @Test
    void a_driver_that_republishes_as_fast_as_the_device_pops_is_served_a_queue_s_worth_at_a_time() {
        int queueSize = 8;
        QueueLayout layout = QueueLayout.contiguous(0x1000, queueSize);
        long availIdx = layout.availableRing() + 2;
        long usedIdx = layout.usedRing() + 2;
        int[] maxOutstanding = {0};
        int[] published = {0};
        int[] head = {0};
        GuestMemory memory = new SegmentGuestMemory(MemorySegment.ofArray(new byte[1 << 20])) {
            @Override
            public int readU16(long address) {
                if (address == availIdx && published[0] < 2_000) {
                    // Publish the same chain (head 0) once more in the next ring slot, ahead of the device.
                    int idx = super.readU16(availIdx);
                    super.writeU16(layout.availableRing() + 4 + 2L * (idx % queueSize), head[0]);
                    super.writeU16(availIdx, (idx + 1) & 0xffff);
                    published[0]++;
                    int outstanding = published[0] - super.readU16(usedIdx);
                    maxOutstanding[0] = Math.max(maxOutstanding[0], outstanding);
                }
                return super.readU16(address);
            }
        };
        VirtioBlock device = new VirtioBlock(new HeapDiskBackend(SECTORS * 512), "republished");
        device.activate(device.offeredFeatures(), List.of(new SplitVirtqueue(memory, layout, queueSize, false, true)),
                memory, new dev.panavisor.devices.virtio.RecordingInterrupt());
        memory.writeU32(0x10000, BlockRequest.T_IN);
        DriverQueue queue = new DriverQueue(memory, layout);
        head[0] = queue.place(readable(0x10000, 16), writable(0x20000, 512), writable(0x10100, 1)); // not published

        device.queueNotify(0);

        assertEquals(2_000, published[0]);
        assertEquals(2_000, memory.readU16(usedIdx), "every request answered");
        assertTrue(maxOutstanding[0] <= queueSize + 1, "requests held at once: " + maxOutstanding[0]);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A driver without F_FLUSH has each write made durable before it is answered, and two large writes flush side by
     * side on helpers. The host's first flush fails (the error of either write's pages: Linux reports it to one
     * fdatasync only), so neither write may be answered OK: the second flush waits for the first and fails too.
     */
    @Test
    void writes_made_durable_side_by_side_both_fail_when_a_flush_fails() {
        int size = (int) VirtioBlock.SIDE_BY_SIDE_MIN_BYTES;
        java.util.concurrent.atomic.AtomicInteger flushes = new java.util.concurrent.atomic.AtomicInteger();
        DiskBackend disk = new Delegating(new HeapDiskBackend(4 * size)) {
            @Override
            public void flush() throws IOException {
                if (flushes.incrementAndGet() == 1) {
                    sleep(200); // the other write's flush comes meanwhile
                    throw new IOException("Input/output error");
                }
                super.flush();
            }
        };
        VirtioBlock device = new VirtioBlock(disk, "write-through");
        device.serveConcurrently(helpers);
        BlockDriver driver = new BlockDriver(device, new dev.panavisor.memory.HeapGuestMemory(1 << 20), false,
                device.offeredFeatures() & ~VirtioBlock.F_FLUSH);
        for (int i = 0; i < 2; i++) {
            long header = BlockDriver.HEADER + 32 * i;
            driver.header(header, BlockRequest.T_OUT, (long) i * size / 512);
            driver.queue.add(readable(header, 16), readable(BlockDriver.DATA + (long) size * i, size),
                    writable(BlockDriver.STATUS + 16 * i, 1));
        }

        device.queueNotify(0);

        for (int i = 0; i < 2; i++) {
            assertEquals(BlockStatus.IOERR.code(), driver.memory.readU8(BlockDriver.STATUS + 16 * i), "write " + i);
        }
    }

    /** A backend that passes every call to another, so a test can wrap the calls it watches. */
    static class Delegating implements DiskBackend {
        private final DiskBackend inner;

        Delegating(DiskBackend inner) {
            this.inner = inner;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public long sizeBytes() {
            return inner.sizeBytes();
        }

        @Override
        public boolean isReadOnly() {
            return inner.isReadOnly();
        }

        @Override
        public void read(long offset, ByteBuffer destination) throws IOException {
            inner.read(offset, destination);
        }

        @Override
        public void write(long offset, ByteBuffer source) throws IOException {
            inner.write(offset, source);
        }

        @Override
        public void read(long offset, ByteBuffer[] destinations) throws IOException {
            inner.read(offset, destinations);
        }

        @Override
        public void write(long offset, ByteBuffer[] sources) throws IOException {
            inner.write(offset, sources);
        }

        @Override
        public void flush() throws IOException {
            inner.flush();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
