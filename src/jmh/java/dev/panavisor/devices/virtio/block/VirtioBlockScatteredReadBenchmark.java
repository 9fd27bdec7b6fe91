package dev.panavisor.devices.virtio.block;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;

import dev.panavisor.devices.virtio.CountingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.MappedGuestMemory;
import dev.panavisor.sys.Libc;
import dev.panavisor.sys.PositionalIo;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A sequential read as Linux sends it: one VIRTIO_BLK_T_IN request of 1,016 KiB whose data lies in 254 (seg_max) page-sized guest
 * buffers that are not next to each other (a user buffer read with O_DIRECT), served from a file in the page cache
 * into mmap'd guest memory, as in a real VM.
 *
 * <ul>
 *   <li>{@link #vectored}: the device as it is, one {@code readv} for all 254 buffers;
 *   <li>{@link #perSegment}: the same device over a backend that reads each buffer with its own {@code pread} (the
 *       {@link DiskBackend} default, which {@link FileDiskBackend} overrode to get {@link #vectored});
 *   <li>{@link #indirectDeviceOnly}: a 1 MiB read of 256 segments in an indirect table, as Linux sends it now, the
 *       device's time alone; {@link #scatteredFloor}: the kernel's part of it, one {@code preadv} into the same
 *       scattered pages. The difference is the request path's Java (docs/performance.md, "The request path in
 *       Java");
 *   <li>{@link #plainRead}: the floor, the same bytes read into one direct buffer, with no device model at all;
 *   <li>{@link #twoRequestsOneThread} and {@link #twoRequestsWithHelper}: two such requests in one notification (a
 *       1 MiB read is two), served one after the other on the calling thread, or side by side with one helper
 *       thread ({@link VirtioBlock#serveConcurrently}; the VMM's {@code vmm.IoHelpers}).
 * </ul>
 *
 * <p>Run: {@code mvn -B -ntp -q -Pbench package -DskipTests && java -jar target/panavisor-benchmarks.jar
 * VirtioBlockScatteredReadBenchmark}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class VirtioBlockScatteredReadBenchmark {
    final CountingInterrupt interrupt = new CountingInterrupt();
    // 254 pages: the larger part of a 1 MiB read when the queue had 256 entries (its figures in docs/performance.md);
    // the device now takes up to VirtioBlock.SEG_MAX, and a 1 MiB read is one request of 256.
    static final int SEGMENTS = 254;
    static final int PAGE = 4096;
    static final int REQUEST = SEGMENTS * PAGE;
    static final int DISK_BYTES = 64 << 20;
    static final long HEADER = 0x10000;
    static final long STATUS = 0x10100;
    static final long DATA = 0x100000;

    Path image;
    FileDiskBackend disk;
    MappedGuestMemory vectoredMemory;
    MappedGuestMemory perSegmentMemory;
    VirtioBlock vectoredDevice;
    VirtioBlock perSegmentDevice;
    DriverQueue vectoredQueue;
    DriverQueue perSegmentQueue;
    DriverQueue.Segment[] request;
    DriverQueue.Segment[] secondRequest;
    MappedGuestMemory pairMemory;
    MappedGuestMemory helperPairMemory;
    VirtioBlock pairDevice;
    VirtioBlock helperPairDevice;
    DriverQueue pairQueue;
    DriverQueue helperPairQueue;
    ExecutorService helper;
    FileChannel channel;
    ByteBuffer direct;
    MappedGuestMemory floorMemory;
    int floorFd;
    MemorySegment floorIovecs;
    long floorOffset;
    long offset;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        image = VirtioBlockReadBenchmark.patternedImage(DISK_BYTES);
        disk = FileDiskBackend.open(image, true);
        DiskBackend onePreadEach = new DiskBackend() { // only the single-buffer calls: the interface's defaults
            public String name() {
                return disk.name();
            }

            public long sizeBytes() {
                return disk.sizeBytes();
            }

            public boolean isReadOnly() {
                return true;
            }

            public void read(long at, ByteBuffer destination) throws IOException {
                disk.read(at, destination);
            }

            public void write(long at, ByteBuffer source) throws IOException {
                disk.write(at, source);
            }

            public void flush() {
            }

            public void close() {
            }
        };
        request = new DriverQueue.Segment[SEGMENTS + 2];
        request[0] = readable(HEADER, 16);
        for (int i = 0; i < SEGMENTS; i++) {
            request[i + 1] = writable(DATA + 2L * i * PAGE, PAGE); // every other page
        }
        request[SEGMENTS + 1] = writable(STATUS, 1);
        secondRequest = new DriverQueue.Segment[SEGMENTS + 2];
        secondRequest[0] = readable(HEADER + 0x40, 16);
        for (int i = 0; i < SEGMENTS; i++) {
            secondRequest[i + 1] = writable(DATA + 2L * (SEGMENTS + i) * PAGE, PAGE);
        }
        secondRequest[SEGMENTS + 1] = writable(STATUS + 0x40, 1);
        pairMemory = MappedGuestMemory.allocate(8 << 20);
        helperPairMemory = MappedGuestMemory.allocate(8 << 20);
        pairDevice = new VirtioBlock(disk, "pair");
        helperPairDevice = new VirtioBlock(disk, "pair-with-helper");
        helper = Executors.newSingleThreadExecutor();
        helperPairDevice.serveConcurrently(helper);
        pairQueue = activate(pairDevice, pairMemory);
        helperPairQueue = activate(helperPairDevice, helperPairMemory);
        pairMemory.writeU32(HEADER + 0x40, BlockRequest.T_IN);
        helperPairMemory.writeU32(HEADER + 0x40, BlockRequest.T_IN);
        vectoredMemory = MappedGuestMemory.allocate(4 << 20);
        perSegmentMemory = MappedGuestMemory.allocate(4 << 20);
        vectoredDevice = new VirtioBlock(disk, "vectored");
        perSegmentDevice = new VirtioBlock(onePreadEach, "per-segment");
        vectoredQueue = activate(vectoredDevice, vectoredMemory);
        perSegmentQueue = activate(perSegmentDevice, perSegmentMemory);
        channel = FileChannel.open(image, StandardOpenOption.READ);
        direct = ByteBuffer.allocateDirect(REQUEST);
        floorMemory = MappedGuestMemory.allocate(4 << 20);
        floorFd = Libc.open(image.toString(), Libc.O_RDONLY);
        floorIovecs = Arena.global().allocate(FULL_SEGMENTS * PositionalIo.IOVEC_BYTES, 8);
        for (int i = 0; i < FULL_SEGMENTS; i++) {
            PositionalIo.setIovec(floorIovecs, i, floorMemory.hostAddress(DATA + 2L * i * PAGE, PAGE), PAGE);
        }
    }

    private DriverQueue activate(VirtioBlock device, MappedGuestMemory memory) {
        QueueLayout layout = QueueLayout.contiguous(0x1000, VirtioBlock.QUEUE_SIZE);
        device.activate(device.offeredFeatures(),
                List.of(new SplitVirtqueue(memory, layout, VirtioBlock.QUEUE_SIZE, true, true)), memory, interrupt);
        memory.writeU32(HEADER, BlockRequest.T_IN);
        return new DriverQueue(memory, layout);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        channel.close();
        disk.close();
        vectoredMemory.close();
        perSegmentMemory.close();
        helper.shutdown();
        pairMemory.close();
        helperPairMemory.close();
        Libc.close(floorFd);
        floorMemory.close();
        Files.deleteIfExists(image);
    }

    private long nextOffset() {
        offset = (offset + REQUEST) % (DISK_BYTES - REQUEST); // every request ends inside the disk
        return offset;
    }

    private int serve(VirtioBlock device, MappedGuestMemory memory, DriverQueue queue) {
        memory.writeU64(HEADER + 8, nextOffset() / VirtioBlock.SECTOR_SIZE);
        queue.add(request);
        device.queueNotify(0);
        DriverQueue.Used used = queue.pollUsed();
        if (used == null || memory.readU8(STATUS) != 0) {
            throw new IllegalStateException("request failed: " + used + " / " + device.lastRequestError());
        }
        return memory.readU8(DATA + 7);
    }

    @Benchmark
    public int vectored() {
        return serve(vectoredDevice, vectoredMemory, vectoredQueue);
    }

    @Benchmark
    public int perSegment() {
        return serve(perSegmentDevice, perSegmentMemory, perSegmentQueue);
    }

    private int servePair(VirtioBlock device, MappedGuestMemory memory, DriverQueue queue) {
        memory.writeU64(HEADER + 8, nextOffset() / VirtioBlock.SECTOR_SIZE);
        memory.writeU64(HEADER + 0x48, nextOffset() / VirtioBlock.SECTOR_SIZE);
        // As Linux sends them: each request's 256 descriptors in an indirect table, so two fit in the queue.
        queue.addIndirect(0x20000, request);
        queue.addIndirect(0x30000, secondRequest);
        device.queueNotify(0);
        if (queue.pollUsed() == null || queue.pollUsed() == null || memory.readU8(STATUS) != 0
                || memory.readU8(STATUS + 0x40) != 0) {
            throw new IllegalStateException("a request of the pair failed: " + device.lastRequestError());
        }
        return memory.readU8(DATA + 7);
    }

    @Benchmark
    public int twoRequestsOneThread() {
        return servePair(pairDevice, pairMemory, pairQueue);
    }

    @Benchmark
    public int twoRequestsWithHelper() {
        return servePair(helperPairDevice, helperPairMemory, helperPairQueue);
    }

    /**
     * One 1 MiB read as Linux sends it (256 page-sized segments in an indirect table), the device's work only: the
     * driver's side is set up before each call ({@link Level#Invocation}), so this is what the worker spends on the
     * request, the {@code preadv} included. Less {@link #scatteredFloor}, it is the request path's Java.
     */
    @State(Scope.Thread)
    public static class IndirectRequest {
        MappedGuestMemory memory;
        VirtioBlock device;
        DriverQueue queue;
        DriverQueue.Segment[] request;
        long offset;

        @Setup(Level.Trial)
        public void setUp(VirtioBlockScatteredReadBenchmark outer) {
            memory = MappedGuestMemory.allocate(4 << 20);
            device = new VirtioBlock(outer.disk, "indirect");
            queue = outer.activate(device, memory);
            request = new DriverQueue.Segment[FULL_SEGMENTS + 2];
            request[0] = readable(HEADER, 16);
            for (int i = 0; i < FULL_SEGMENTS; i++) {
                request[i + 1] = writable(DATA + 2L * i * PAGE, PAGE);
            }
            request[FULL_SEGMENTS + 1] = writable(STATUS, 1);
        }

        @Setup(Level.Invocation)
        public void publish() {
            offset = (offset + FULL_REQUEST) % (DISK_BYTES - FULL_REQUEST);
            memory.writeU64(HEADER + 8, offset / VirtioBlock.SECTOR_SIZE);
            queue.addIndirect(0x20000, request);
        }

        @TearDown(Level.Invocation)
        public void collect() {
            if (queue.pollUsed() == null || memory.readU8(STATUS) != 0) {
                throw new IllegalStateException("request failed: " + device.lastRequestError());
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            memory.close();
        }
    }

    /** 256 segments: a 1 MiB read, as Linux sends it since the queue has room for it (VirtioBlock.SEG_MAX). */
    static final int FULL_SEGMENTS = 256;
    static final int FULL_REQUEST = FULL_SEGMENTS * PAGE;

    @Benchmark
    public void indirectDeviceOnly(IndirectRequest state) {
        state.device.queueNotify(0);
    }

    /**
     * The kernel's share of {@link #indirectDeviceOnly}: the same 1 MiB scattered read into the same guest pages
     * with one {@code preadv} over iovecs built once, no device model.
     */
    @Benchmark
    public int scatteredFloor() {
        floorOffset = (floorOffset + FULL_REQUEST) % (DISK_BYTES - FULL_REQUEST);
        long moved = PositionalIo.preadvOrErrno(floorFd, floorIovecs, FULL_SEGMENTS, floorOffset);
        if (moved != FULL_REQUEST) {
            throw new IllegalStateException("short read: " + moved);
        }
        return floorMemory.readU8(DATA + 7);
    }

    @Benchmark
    public int plainRead() throws IOException {
        direct.clear();
        long position = nextOffset();
        while (direct.hasRemaining()) {
            position += channel.read(direct, position);
        }
        return direct.get(7);
    }
}
