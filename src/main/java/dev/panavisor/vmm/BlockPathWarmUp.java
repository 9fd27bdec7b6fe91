package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.block.BlockStatus;
import dev.panavisor.devices.virtio.block.DiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.MappedGuestMemory;
import dev.panavisor.sys.HandleCustomization;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Runs a disk's request path a few times on scratch memory once the guest has booted ({@link PathWarmUp}), so that
 * the JIT has compiled it before the guest's first large transfer.
 *
 * <p>Why: the JIT compiles a method after it has been called often enough (about 10 calls for Panavisor's code,
 * jvm.options), and a guest's boot makes one or two requests to a disk (the partition scan). So the first megabytes
 * a guest moves ran through a request path still interpreted, while the JVM's one compiler thread (inside the nested
 * lab) compiled its methods one by one. In the lab a 128 MiB sequential read in a fresh VM took 10-25 % longer than
 * the same read after 24 MiB had gone before it (docs/performance.md, "The disk's request path run ahead").
 *
 * <p>What: {@link #play} builds a {@link VirtioBlock} of its own over the VM's disk backend, on a scratch
 * {@link MappedGuestMemory} (the class guest memory has), and plays a driver ({@link DriverQueue}) sending it
 * {@value #REQUESTS} reads of the disk's first MiB, each as Linux sends a 1 MiB {@code O_DIRECT} read: one indirect
 * descriptor table of a header, up to 256 page-sized data segments every other page apart, and a status byte. The
 * same methods serve the guest's requests: the chain walk, the request's parse, the segments' iovecs, the
 * {@code preadv}, the used ring. Only reads, and only of the first MiB (which the guest's partition scan has read,
 * so it is in the host's page cache): the disk's contents and the host's I/O are left as they are. Writes share
 * all of it but the system call.
 *
 * <p>When: at the guest's boot marker ({@link PathWarmUp}). Begun at the disk's first request instead (the partition
 * scan, in the middle of the boot), it made the guest's boot slower: in one lab session the guest's banner came at a
 * median 1.82 s against 1.53 s without it, 8 boots each.
 *
 * <p>Not under {@code run --jfr}: the scratch requests would be recorded as the disk's. {@value #REQUESTS_PROPERTY}
 * sets the number of requests; 0 leaves the thread out (for measurements).
 */
final class BlockPathWarmUp {
    static final String REQUESTS_PROPERTY = "panavisor.blk.warmup";
    /**
     * Enough for the methods called once per segment (256 calls a request) to pass their compile threshold. Those
     * called once per request pass theirs only when the compiler's queue is short: HotSpot multiplies a threshold
     * by the queue's length over five per compiler thread, plus one, and at the boot marker the lab's one C1 thread
     * still has the boot's methods queued (docs/performance.md, "The warm-up compiles less than it was meant to").
     */
    static final int REQUESTS = 24;
    private static final int PAGE = 4096;
    /** A 1 MiB read of a user buffer: 256 pages (Linux's request for one {@code O_DIRECT} MiB). */
    private static final int MAX_SEGMENTS = 256;
    private static final long QUEUE = 0;
    /** The indirect table: 258 descriptors of 16 bytes, up to 0x9020. */
    private static final long TABLE = 0x8000;
    private static final long HEADER = 0xa000;
    private static final long STATUS = 0xa100;
    private static final long DATA = 0x10000;
    /** The data's pages lie every other page apart, as a user buffer's do in guest-physical memory. */
    private static final long MEMORY = DATA + 2L * MAX_SEGMENTS * PAGE;
    /** VIRTIO_BLK_T_IN (virtio 1.2 §5.2.6). */
    private static final int READ = 0;

    private BlockPathWarmUp() {
    }

    /** A warm-up for {@code disk}, or null when {@value #REQUESTS_PROPERTY} is 0 or a flight recording is on. */
    static PathWarmUp forDisk(DiskBackend disk, String name) {
        return forDisk(disk, name, Integer.getInteger(REQUESTS_PROPERTY, REQUESTS),
                jdk.jfr.FlightRecorder.isInitialized());
    }

    static PathWarmUp forDisk(DiskBackend disk, String name, int requests, boolean recording) {
        return PathWarmUp.wanted(requests, recording) ? thread(disk, name, requests) : null;
    }

    /** The warm-up's thread for {@code disk}: {@code requests} reads when begun. */
    static PathWarmUp thread(DiskBackend disk, String name, int requests) {
        return new PathWarmUp(name, stop -> play(disk, requests, stop));
    }

    /**
     * Sends {@code requests} reads of the disk's first MiB (or of all of it, if smaller) through a scratch device on
     * {@code disk}, stopping early when {@code stop} says so; returns how many were answered VIRTIO_BLK_S_OK.
     */
    static int play(DiskBackend disk, int requests, BooleanSupplier stop) {
        // The method handles' own specialization, which counts calls per handle and so comes at a transfer's 127th
        // request of each kind, and the class the first flush loads: both during a guest's first transfer otherwise.
        HandleCustomization.disksAhead();
        loadFlushEventClass();
        long length = Math.min((long) MAX_SEGMENTS * PAGE, disk.sizeBytes() / VirtioBlock.SECTOR_SIZE
                * VirtioBlock.SECTOR_SIZE);
        DriverQueue.Segment[] chain = chain(length);
        VirtioBlock device = new VirtioBlock(disk, "warm-up");
        int ok = 0;
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(MEMORY)) {
            QueueLayout layout = QueueLayout.contiguous(QUEUE, VirtioBlock.QUEUE_SIZE);
            DriverQueue driver = new DriverQueue(memory, layout);
            long features = device.offeredFeatures() & (VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX
                    | VirtioFeatures.INDIRECT_DESC);
            device.activate(features, List.of(new SplitVirtqueue(memory, layout, VirtioBlock.QUEUE_SIZE, true, true)),
                    memory, PathWarmUp.NO_INTERRUPT);
            memory.writeU32(HEADER, READ);
            memory.writeU32(HEADER + 4, 0);
            memory.writeU64(HEADER + 8, 0); // sector 0
            for (int i = 0; i < requests && !stop.getAsBoolean(); i++) {
                memory.writeU8(STATUS, 0xff);
                driver.addIndirect(TABLE, chain);
                device.queueNotify(0);
                if (driver.pollUsed() != null && memory.readU8(STATUS) == BlockStatus.OK.code()) {
                    ok++;
                }
            }
        } finally {
            device.reset();
        }
        return ok;
    }

    /**
     * Loads the JDK's event class for {@code FileChannel.force} (a virtio-blk flush), which the AOT cache's training
     * run, whose guest never flushes, leaves out: read from the JDK's module image at the first flush otherwise, on
     * the disk's worker, inside the guest's timed {@code fsync} (docs/performance.md).
     */
    private static void loadFlushEventClass() {
        try {
            Class.forName("jdk.internal.event.FileForceEvent", true, ClassLoader.getPlatformClassLoader());
        } catch (ClassNotFoundException e) {
            // Another JDK's name for it, or none: nothing to load ahead.
        }
    }

    /** The header, the data in page-sized segments every other page apart, the status byte. */
    private static DriverQueue.Segment[] chain(long length) {
        int segments = (int) ((length + PAGE - 1) / PAGE);
        DriverQueue.Segment[] chain = new DriverQueue.Segment[segments + 2];
        chain[0] = DriverQueue.readable(HEADER, 16);
        for (int i = 0; i < segments; i++) {
            chain[i + 1] = DriverQueue.writable(DATA + 2L * i * PAGE, Math.min(PAGE, length - (long) i * PAGE));
        }
        chain[segments + 1] = DriverQueue.writable(STATUS, 1);
        return chain;
    }
}
