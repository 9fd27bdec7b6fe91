package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.ConfigSpace;
import dev.panavisor.devices.virtio.QueueWork;
import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A virtio block device (virtio 1.2 §5.2): one request queue, served from a {@link DiskBackend}.
 *
 * <p>Requests: read (T_IN), write (T_OUT), flush (T_FLUSH, an fdatasync of a file) and get-id (T_GET_ID); anything
 * else is answered VIRTIO_BLK_S_UNSUPP. Every request is parsed and checked ({@link BlockRequest}) before any byte
 * moves, so a request reaching past the end of the disk fails with VIRTIO_BLK_S_IOERR and never touches the host file
 * outside the disk. A read-only backend is advertised with VIRTIO_BLK_F_RO and its writes fail the same way.
 *
 * <p>Data moves without a copy: the request's segments ({@link GuestSegments}: guest-physical addresses and
 * lengths) go to the backend, which reads or writes guest memory directly, with one preadv or pwritev for a file.
 *
 * <p>Requests are served in batches when the driver notifies ({@link #takeWork}): the available chains are parsed
 * under the transport's lock, their data moves without it (side by side on the VMM's helper threads, if it gave
 * any), and they are answered in ring order under the lock again, with one interrupt for the batch. Completing them
 * in order is allowed (the device "may" reorder, §5.2.6) and keeps the device simple.
 *
 * <p>A batch ends at its first small request (under {@link #SIDE_BY_SIDE_MIN_BYTES}: no helper would take it): that
 * one is answered before the next is read. With eight 4 KiB reads queued, the guest then handles the first
 * completion (wakes its reader, which queues the next read) on its vCPU while the device reads the second on its
 * worker, instead of both sides taking turns over the whole batch: in two lab A/Bs, 4 KiB random reads with 8
 * readers gained 33 % and 55 % in the median (docs/performance.md, "A small request answered on its own"). The
 * driver's EVENT_IDX still decides which answers interrupt it. Large requests (sequential transfers) are still taken
 * together, for the helpers.
 */
public final class VirtioBlock implements VirtioDevice {
    public static final int DEVICE_TYPE = 2;
    public static final int SECTOR_SIZE = 512;
    /**
     * Descriptors in the request queue. 1024 rather than the 256 of QEMU's default: the queue bounds a request's
     * segments ({@link #SEG_MAX}), and Linux builds a 1 MiB O_DIRECT read of a user buffer from 256 scattered pages.
     * With 254 segments it splits that read into two requests (1016 KiB and 8 KiB), each paying the request path
     * (a chain walk, a system call, a status byte); with 1022 it is one request. Linux caps a request at its own
     * {@code max_sectors_kb} (1280 KiB by default) anyway. The split ring then takes the guest 28 KiB instead of 10
     * (virtio 1.2 §2.7, page-aligned used ring).
     */
    public static final int QUEUE_SIZE = 1024;

    /** §5.2.3 feature bits. */
    public static final long F_SEG_MAX = 1L << 2;
    public static final long F_RO = 1L << 5;
    public static final long F_FLUSH = 1L << 9;

    /**
     * Most data segments per request: a request also needs a header and a status descriptor, and a chain may not be
     * longer than the queue (§2.7.5.3.1), so this keeps even indirect requests within QUEUE_SIZE descriptors.
     */
    static final int SEG_MAX = QUEUE_SIZE - 2;
    /**
     * The smallest request handed to a helper thread. A hand-off costs a thread wake-up, which in the nested lab is
     * worth more than a small request's I/O: eight readers of 4 KiB each made 1,556 reads/s served on the worker
     * alone and 1,113 with every request handed off (docs/performance.md). Smaller requests run on the serving
     * thread, in ring order.
     */
    static final long SIDE_BY_SIDE_MIN_BYTES = 128 << 10;

    private final DiskBackend disk;
    private final byte[] id;
    private final long capacitySectors;
    private final byte[] config;
    private final RequestErrors errors;
    private final DiskFlushes flushes;
    /** Whether JFR was up when the device was made: request events are then made, else never. */
    private final boolean recording;

    private SplitVirtqueue queue;
    private GuestMemory memory;
    private VirtioInterrupt interrupt;
    /** The driver did not take F_FLUSH, so it will never flush: each write is made durable before it is answered. */
    private volatile boolean writeThrough;
    /** The status of the request served last (for its flight-recorder event). */
    private BlockStatus lastStatus = BlockStatus.OK;
    /** Threads that run a batch's requests beside the serving thread; null: one after another. */
    private Executor helpers;

    /**
     * @param disk the backend; its size is rounded down to whole sectors
     * @param serial the device ID string the guest sees (e.g. in /sys/block/vda/serial), at most 20 ASCII bytes
     */
    public VirtioBlock(DiskBackend disk, String serial) {
        // Request events only when JFR is up as the device is made; their class is then loaded now, before a seccomp
        // filter forbids reading the jar (see vmm/ExitHandler), and never otherwise.
        this.recording = jdk.jfr.FlightRecorder.isInitialized();
        if (recording) {
            new BlockRequestEvent();
        }
        byte[] serialBytes = serial.getBytes(StandardCharsets.US_ASCII);
        if (serialBytes.length > BlockRequest.ID_BYTES) {
            throw new VirtioException("virtio-blk serial \"" + serial + "\" is longer than 20 bytes");
        }
        this.disk = disk;
        this.flushes = new DiskFlushes(disk);
        this.id = new byte[BlockRequest.ID_BYTES];
        System.arraycopy(serialBytes, 0, id, 0, serialBytes.length);
        this.capacitySectors = disk.sizeBytes() / SECTOR_SIZE;
        this.config = configSpace(capacitySectors);
        this.errors = new RequestErrors(name());
    }

    /**
     * struct virtio_blk_config up to and including seg_max (§5.2.4): capacity in 512-byte sectors at 0, size_max at
     * 8 (0: no limit; VIRTIO_BLK_F_SIZE_MAX is not offered), seg_max at 12.
     */
    private static byte[] configSpace(long capacitySectors) {
        ByteBuffer b = ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, capacitySectors);
        b.putInt(8, 0);
        b.putInt(12, SEG_MAX);
        return b.array();
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public String name() {
        return "virtio-blk (" + disk.name() + ")";
    }

    @Override
    public long offeredFeatures() {
        long features = VirtioFeatures.VERSION_1 | VirtioFeatures.EVENT_IDX | VirtioFeatures.INDIRECT_DESC
                | F_SEG_MAX | F_FLUSH;
        return disk.isReadOnly() ? features | F_RO : features;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public int maxQueueSize(int index) {
        return QUEUE_SIZE;
    }

    @Override
    public long readConfig(int offset, int size) {
        return ConfigSpace.read(config, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        // Every field we expose is read-only (writeback needs VIRTIO_BLK_F_CONFIG_WCE, not offered).
    }

    @Override
    public void activate(long features, List<SplitVirtqueue> queues, GuestMemory memory, VirtioInterrupt interrupt) {
        // §5.2.6.2: without VIRTIO_BLK_F_FLUSH negotiated the device commits each write before completing it (Linux
        // then takes the disk for one without a write cache, and sends no flush).
        this.writeThrough = !VirtioFeatures.has(features, F_FLUSH);
        this.queue = queues.getFirst();
        this.memory = memory;
        this.interrupt = interrupt;
    }

    @Override
    public void reset() {
        queue = null;
        memory = null;
        interrupt = null;
    }

    /**
     * Lets the large requests of one notification run side by side: each request of
     * {@link #SIDE_BY_SIDE_MIN_BYTES} or more but the first goes to {@code helpers} (threads the VMM owns), the
     * serving thread runs the first and the small ones, and the batch is answered when all are done. Without it
     * (tests, or a pool of none), requests run one after another on the serving thread.
     */
    public void serveConcurrently(Executor helpers) {
        this.helpers = helpers;
    }

    /**
     * Serves every request the driver has made available, on this thread and under the caller's lock: the path of
     * a QueueNotify that reaches user space, and of tests. The device's worker uses {@link #takeWork} instead, so
     * that the I/O runs without the lock.
     */
    @Override
    public void queueNotify(int index) {
        QueueWork work;
        while ((work = takeWork(index)) != null) {
            work.perform();
            work.complete();
        }
    }

    /**
     * Takes the batch: the chains available now, at most a queue's worth, up to and including the first small one
     * (see the class comment). Each is parsed and checked here, in ring
     * order; {@link Batch#perform} moves their data, the large requests side by side when {@link
     * #serveConcurrently helpers} are set (see {@link #SIDE_BY_SIDE_MIN_BYTES}); {@link Batch#complete} gives each
     * its status byte and puts it in the used ring, in ring order, with one interrupt for the batch. A flush is a
     * barrier: the requests before it in the batch have completed before it starts, and those after it start once
     * it is done, so a flush covers every write the driver made available before it (Linux waits for completion
     * before it flushes anyway; §5.2.6.2 asks only for the completed ones).
     */
    @Override
    public QueueWork takeWork(int index) {
        if (queue == null) {
            return null;
        }
        // At most a queue's worth at a time: a correct driver never has more in flight, and a hostile one that keeps
        // publishing the same chains cannot make a batch (and the VMM's memory) grow without end.
        List<PendingRequest> batch = new ArrayList<>();
        RuntimeException malformed = null;
        try {
            DescriptorChain chain;
            while (batch.size() < queue.size() && (chain = queue.pop()) != null) {
                PendingRequest pending = prepare(chain);
                batch.add(pending);
                if (pending.request.dataLength < SIDE_BY_SIDE_MIN_BYTES) {
                    break; // a small request is answered at once: see the class comment
                }
            }
        } catch (VirtioException | GuestMemoryException e) {
            malformed = e; // the requests before the bad chain are still carried out and answered
        }
        if (batch.isEmpty()) {
            if (malformed != null) {
                throw malformed;
            }
            return null;
        }
        return new Batch(batch, malformed);
    }

    /** The requests of one {@link #takeWork}, and a malformed chain that ended it, if one did. */
    private final class Batch implements QueueWork {
        private final List<PendingRequest> requests;
        private final RuntimeException malformed;

        Batch(List<PendingRequest> requests, RuntimeException malformed) {
            this.requests = requests;
            this.malformed = malformed;
        }

        @Override
        public void perform() {
            runAll(requests);
        }

        @Override
        public void complete() {
            for (PendingRequest pending : requests) {
                rethrowFault(pending);
            }
            for (PendingRequest pending : requests) {
                queue.addUsed(pending.head, finish(pending));
            }
            if (queue.needsNotification()) {
                interrupt.usedBuffers();
            }
            if (malformed != null) {
                throw malformed;
            }
        }
    }

    /** Finds the status byte, parses and checks the header, and wraps the data segments: everything but the I/O. */
    private PendingRequest prepare(DescriptorChain chain) {
        PendingRequest pending = new PendingRequest(chain);
        if (recording) {
            pending.event = new BlockRequestEvent(); // run --jfr; timed around the I/O itself, in run()
        }
        BlockRequest request = pending.request;
        if (!request.locateStatus(chain)) {
            pending.dropped = true;
            pending.done = true;
            return pending;
        }
        try {
            request.parse(chain, capacitySectors, disk.isReadOnly());
            switch ((int) request.type) {
                case BlockRequest.T_IN -> pending.buffers = GuestSegments.of(chain, true, request.dataLength, memory);
                case BlockRequest.T_OUT -> pending.buffers = GuestSegments.of(chain, false, request.dataLength, memory);
                case BlockRequest.T_GET_ID -> {
                    int n = (int) Math.min(request.dataLength, id.length);
                    chain.writeToWritable(0, id, 0, n);
                    pending.dataWritten = n;
                    pending.status = BlockStatus.OK;
                    pending.done = true;
                }
                default -> { } // a flush runs in turn
            }
        } catch (BlockRequestException e) {
            pending.status = e.status();
            pending.error = e.getMessage();
            pending.hostError = e.hostSide();
            pending.done = true;
        }
        return pending;
    }

    /** Runs the batch's requests, those between flushes side by side when helpers are set. */
    private void runAll(List<PendingRequest> batch) {
        int i = 0;
        while (i < batch.size()) {
            int end = i;
            while (end < batch.size() && batch.get(end).movesData()) {
                end++;
            }
            if (end - i >= 2 && helpers != null) {
                runSideBySide(batch.subList(i, end));
                i = end;
            } else {
                run(batch.get(i)); // a flush, get-id, failed or lone request
                i++;
            }
        }
    }

    /** A failure that is not a request's own (guest memory out of range, a bug) reaches the transport from here. */
    private static void rethrowFault(PendingRequest pending) {
        if (pending.fault instanceof RuntimeException e) {
            throw e;
        }
        if (pending.fault instanceof Error e) {
            throw e;
        }
    }

    /**
     * Every large request of the group but one goes to a helper; the serving thread runs that one and the small
     * ones ({@link #SIDE_BY_SIDE_MIN_BYTES}) meanwhile, then waits for the helpers.
     */
    private void runSideBySide(List<PendingRequest> group) {
        List<CompletableFuture<Void>> others = new ArrayList<>();
        List<PendingRequest> here = new ArrayList<>(group.size());
        boolean keptOne = false;
        for (PendingRequest pending : group) {
            if (pending.request.dataLength < SIDE_BY_SIDE_MIN_BYTES || !keptOne) {
                keptOne |= pending.request.dataLength >= SIDE_BY_SIDE_MIN_BYTES;
                here.add(pending);
                continue;
            }
            try {
                others.add(CompletableFuture.runAsync(() -> run(pending), helpers));
            } catch (RejectedExecutionException e) {
                here.add(pending); // the VM is closing: no helper takes work any more
            }
        }
        try {
            here.forEach(this::run);
        } finally {
            others.forEach(CompletableFuture::join); // run() catches everything; join only waits
        }
    }

    /** Carries out one prepared request: the I/O, on whichever thread runs it. Never throws. */
    private void run(PendingRequest pending) {
        if (pending.done) {
            return;
        }
        if (pending.event != null) {
            pending.event.begin();
        }
        try {
            pending.dataWritten = execute(pending);
            pending.status = BlockStatus.OK;
        } catch (BlockRequestException e) {
            pending.status = e.status();
            pending.error = e.getMessage();
            pending.hostError = e.hostSide();
        } catch (Throwable e) {
            pending.fault = e; // rethrown by the serving thread once every helper is done
        } finally {
            if (pending.event != null) {
                pending.event.end();
            }
        }
    }

    /** Writes the status byte and counts errors; returns the bytes written for the used ring (§2.7.8). */
    private int finish(PendingRequest pending) {
        int written;
        if (pending.dropped) {
            errors.dropped(pending.head);
            lastStatus = BlockStatus.IOERR;
            written = 0;
        } else {
            if (pending.error != null) {
                errors.answered(pending.status, pending.error, pending.hostError);
            }
            memory.writeU8(pending.request.statusAddress, pending.status.code());
            lastStatus = pending.status;
            // The used length counts bytes written from the start of the writable part (§2.7.8.2). When the data
            // was written in full it runs into the status byte; otherwise it may only underestimate: the data
            // actually written, or just the status byte when that is all there is.
            if (pending.status == BlockStatus.OK) {
                long data = pending.dataWritten;
                written = (int) (data == pending.writableBytes - 1 ? data + 1 : data);
            } else {
                written = pending.writableBytes == 1 ? 1 : 0;
            }
        }
        BlockRequestEvent event = pending.event;
        if (event != null) {
            if (event.shouldCommit()) {
                event.device = name();
                event.type = BlockRequestEvent.typeName(pending.request.type);
                event.sector = pending.request.sector;
                event.bytes = pending.request.dataLength;
                event.status = lastStatus.name();
                event.commit();
            }
        }
        return written;
    }

    /** Returns the number of bytes written into the guest's buffers (not counting the status byte). */
    private long execute(PendingRequest pending) {
        BlockRequest request = pending.request;
        try {
            switch ((int) request.type) {
                case BlockRequest.T_IN -> {
                    disk.read(request.diskOffset(), pending.buffers);
                    return request.dataLength;
                }
                case BlockRequest.T_OUT -> {
                    disk.write(request.diskOffset(), pending.buffers);
                    if (writeThrough) {
                        flushes.flush();
                    }
                    return 0;
                }
                case BlockRequest.T_FLUSH -> {
                    flushes.flush();
                    return 0;
                }
                default -> throw BlockRequestException.unsupported(request.type);
            }
        } catch (TransferAbandonedException e) {
            throw BlockRequestException.abandoned(e);
        } catch (IOException e) {
            throw BlockRequestException.hostIo(disk.name(), e);
        }
    }

    public long capacitySectors() {
        return capacitySectors;
    }

    /**
     * Who hears of each request answered with an error status (run --verbose): one line naming the device, the
     * status and why; called on the thread serving the queue, under the device's lock.
     */
    public void onRequestError(java.util.function.Consumer<String> listener) {
        errors.onEach(listener);
    }

    /** Who hears that the host's file failed a request, verbose or not ({@link RequestErrors}). */
    public void onHostError(java.util.function.Consumer<String> listener) {
        errors.onHostFailure(listener);
    }

    /** Requests answered with an error status so far, for diagnostics. */
    public long requestErrors() {
        return errors.count();
    }

    public String lastRequestError() {
        return errors.last();
    }

    /** Flushes the disk as the guest's flushes do (the VM's end): it fails if one of them failed before. */
    public void flush() throws IOException {
        flushes.flush();
    }

    public DiskBackend disk() {
        return disk;
    }
}
