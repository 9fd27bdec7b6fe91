package dev.panavisor.devices.virtio.block;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;

import dev.panavisor.devices.virtio.CountingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
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
 * What the virtio-blk device model costs on top of the host read it has to do anyway.
 *
 * <p>{@link #virtioBlockRead} plays a guest driver (a {@link DriverQueue} on heap guest memory) issuing one 4 KiB
 * VIRTIO_BLK_T_IN request, notifying, and collecting the used element: header, three descriptors, available ring,
 * pop with all checks, request parsing, a {@code FileChannel} read straight into guest memory, status byte, used
 * ring, notification decision. {@link #plainFileChannelRead} is the floor: the same 4 KiB positional read into a
 * direct buffer. Both walk the same offsets of a 64 MiB file that sits in the page cache, so neither waits for a
 * disk. The difference is the device model's overhead per request (no VM exit is included; that is measured
 * separately by the exit benchmarks). {@link #virtioBlockReadHeapDisk} runs the same request against a disk held in
 * a byte array, which shows the model's own cost without the noise of a system call.
 *
 * <p>Run: {@code mvn -B -ntp -q -Pbench package -DskipTests && java -jar target/panavisor-benchmarks.jar
 * VirtioBlockReadBenchmark}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class VirtioBlockReadBenchmark {
    final CountingInterrupt interrupt = new CountingInterrupt();
    static final int BLOCK = 4096;
    static final int DISK_BYTES = 64 << 20;
    static final long HEADER = 0x10000;
    static final long STATUS = 0x10100;
    static final long DATA = 0x20000;

    Path image;
    FileDiskBackend disk;
    VirtioBlock device;
    HeapGuestMemory memory;
    DriverQueue queue;
    /** The same device model over a disk in a byte array: the model's own cost without a system call. */
    VirtioBlock heapDevice;
    HeapGuestMemory heapMemory;
    DriverQueue heapQueue;
    DriverQueue.Segment[] heapRequest;
    DriverQueue.Segment[] request;
    FileChannel channel;
    ByteBuffer direct;
    long offset;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        image = patternedImage(DISK_BYTES);
        disk = FileDiskBackend.open(image, true);
        device = new VirtioBlock(disk, "bench");
        memory = new HeapGuestMemory(1 << 20);
        QueueLayout layout = QueueLayout.contiguous(0x1000, VirtioBlock.QUEUE_SIZE);
        queue = new DriverQueue(memory, layout);
        device.activate(device.offeredFeatures(),
                List.of(new SplitVirtqueue(memory, layout, VirtioBlock.QUEUE_SIZE, true, true)), memory, interrupt);
        request = new DriverQueue.Segment[] {readable(HEADER, 16), writable(DATA, BLOCK), writable(STATUS, 1)};
        memory.writeU32(HEADER, BlockRequest.T_IN);

        heapDevice = new VirtioBlock(new HeapDiskBackend(Files.readAllBytes(image), true), "bench-heap");
        heapMemory = new HeapGuestMemory(1 << 20);
        heapQueue = new DriverQueue(heapMemory, layout);
        heapDevice.activate(heapDevice.offeredFeatures(),
                List.of(new SplitVirtqueue(heapMemory, layout, VirtioBlock.QUEUE_SIZE, true, true)), heapMemory,
                interrupt);
        heapRequest = request.clone();
        heapMemory.writeU32(HEADER, BlockRequest.T_IN);
        channel = FileChannel.open(image, StandardOpenOption.READ);
        direct = ByteBuffer.allocateDirect(BLOCK);
    }

    /** A temporary raw image of {@code bytes} (a multiple of 1 MiB) holding byte {@code i & 0xff} at offset i. */
    static Path patternedImage(int bytes) throws IOException {
        Path image = Files.createTempFile("panavisor-bench", ".img");
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (byte) i;
        }
        try (FileChannel out = FileChannel.open(image, StandardOpenOption.WRITE)) {
            for (int i = 0; i < bytes / chunk.length; i++) {
                out.write(ByteBuffer.wrap(chunk));
            }
        }
        return image;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        channel.close();
        disk.close();
        Files.deleteIfExists(image);
    }

    private long nextOffset() {
        offset = (offset + BLOCK) % DISK_BYTES;
        return offset;
    }

    @Benchmark
    public int virtioBlockRead() {
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
    public int virtioBlockReadHeapDisk() {
        heapMemory.writeU64(HEADER + 8, nextOffset() / VirtioBlock.SECTOR_SIZE);
        heapQueue.add(heapRequest);
        heapDevice.queueNotify(0);
        DriverQueue.Used used = heapQueue.pollUsed();
        if (used == null || heapMemory.readU8(STATUS) != 0) {
            throw new IllegalStateException("request failed: " + used + " / " + heapDevice.lastRequestError());
        }
        return heapMemory.readU8(DATA + 7);
    }

    @Benchmark
    public int plainFileChannelRead() throws IOException {
        direct.clear();
        long position = nextOffset();
        while (direct.hasRemaining()) {
            position += channel.read(direct, position);
        }
        return direct.get(7);
    }
}
