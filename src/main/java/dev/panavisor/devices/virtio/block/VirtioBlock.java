package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.ConfigSpace;
import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.devices.virtio.queue.DescriptorChain;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A virtio block device (virtio 1.2 §5.2): one request queue, served from a {@link DiskBackend}.
 *
 * <p>Requests: read (T_IN), write (T_OUT), flush (T_FLUSH, an fsync on a file) and get-id (T_GET_ID); anything else
 * is answered VIRTIO_BLK_S_UNSUPP. Every request is parsed and checked ({@link BlockRequest}) before any byte moves,
 * so a request reaching past the end of the disk fails with VIRTIO_BLK_S_IOERR and never touches the host file
 * outside the disk. A read-only backend is advertised with VIRTIO_BLK_F_RO and its writes fail the same way.
 *
 * <p>Data moves without a copy: each guest segment is wrapped as a {@link ByteBuffer} view of guest memory
 * ({@link GuestMemory#buffer}) and handed to the backend's positional read or write.
 *
 * <p>Requests are executed synchronously, in order, when the driver notifies; completing them in order is allowed
 * (the device "may" reorder, §5.2.6) and keeps the device simple.
 */
public final class VirtioBlock implements VirtioDevice {
    public static final int DEVICE_TYPE = 2;
    public static final int SECTOR_SIZE = 512;
    public static final int QUEUE_SIZE = 256;

    /** §5.2.3 feature bits. */
    public static final long F_SEG_MAX = 1L << 2;
    public static final long F_RO = 1L << 5;
    public static final long F_FLUSH = 1L << 9;

    /**
     * Most data segments per request: a request also needs a header and a status descriptor, and a chain may not be
     * longer than the queue (§2.7.5.3.1), so this keeps even indirect requests within QUEUE_SIZE descriptors.
     */
    static final int SEG_MAX = QUEUE_SIZE - 2;
    /** Largest piece handed to the backend at once; ByteBuffer views are int-sized. */
    private static final int MAX_TRANSFER = 1 << 30;

    private final DiskBackend disk;
    private final byte[] id;
    private final long capacitySectors;
    private final byte[] config;
    private final BlockRequest request = new BlockRequest();
    /** Whether JFR was up when the device was made: request events are then made, else never. */
    private final boolean recording;

    private SplitVirtqueue queue;
    private GuestMemory memory;
    private VirtioInterrupt interrupt;
    private long requestErrors;
    private String lastRequestError = "";
    /** The status of the request served last (for its flight-recorder event). */
    private BlockStatus lastStatus = BlockStatus.OK;
    private java.util.function.Consumer<String> requestErrorListener = error -> { };

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
        this.id = new byte[BlockRequest.ID_BYTES];
        System.arraycopy(serialBytes, 0, id, 0, serialBytes.length);
        this.capacitySectors = disk.sizeBytes() / SECTOR_SIZE;
        this.config = configSpace(capacitySectors);
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

    /** Serves every request the driver has made available, then notifies the driver once if it wants that. */
    @Override
    public void queueNotify(int index) {
        if (queue == null) {
            return;
        }
        DescriptorChain chain;
        while ((chain = queue.pop()) != null) {
            int written = serve(chain);
            queue.addUsed(chain.headIndex(), written);
        }
        if (queue.needsNotification()) {
            interrupt.usedBuffers();
        }
    }

    /** Carries out one request and writes its status; returns the bytes written for the used ring (§2.7.8). */
    private int serve(DescriptorChain chain) {
        if (!recording) {
            return serveRequest(chain);
        }
        BlockRequestEvent event = new BlockRequestEvent(); // run --jfr
        event.begin();
        int written = serveRequest(chain);
        if (event.shouldCommit()) {
            event.device = name();
            event.type = BlockRequestEvent.typeName(request.type);
            event.sector = request.sector;
            event.bytes = request.dataLength;
            event.status = lastStatus.name();
            event.commit();
        }
        return written;
    }

    private int serveRequest(DescriptorChain chain) {
        lastStatus = BlockStatus.IOERR;
        if (!request.locateStatus(chain)) {
            requestErrors++;
            lastRequestError = "request without a status byte";
            requestErrorListener.accept(name() + ": request from head " + chain.headIndex() + " dropped: "
                    + lastRequestError);
            return 0;
        }
        BlockStatus status;
        long dataWritten = 0;
        try {
            request.parse(chain, capacitySectors, disk.isReadOnly());
            dataWritten = execute(chain);
            status = BlockStatus.OK;
        } catch (BlockRequestException e) {
            status = e.status();
            requestErrors++;
            lastRequestError = e.getMessage();
            requestErrorListener.accept(name() + ": request answered VIRTIO_BLK_S_" + status + ": " + lastRequestError);
        }
        memory.writeU8(request.statusAddress, status.code());
        lastStatus = status;
        // The used length counts bytes written from the start of the writable part (§2.7.8.2). When the data was
        // written in full it runs into the status byte; otherwise it may only underestimate: the data actually
        // written, or just the status byte when that is all there is.
        if (status == BlockStatus.OK) {
            return (int) (dataWritten == chain.writableBytes() - 1 ? dataWritten + 1 : dataWritten);
        }
        return chain.writableBytes() == 1 ? 1 : 0;
    }

    /** Returns the number of bytes written into the guest's buffers (not counting the status byte). */
    private long execute(DescriptorChain chain) {
        try {
            switch ((int) request.type) {
                case BlockRequest.T_IN -> {
                    transfer(chain, true, request.diskOffset(), request.dataLength);
                    return request.dataLength;
                }
                case BlockRequest.T_OUT -> {
                    transfer(chain, false, request.diskOffset(), request.dataLength);
                    return 0;
                }
                case BlockRequest.T_FLUSH -> {
                    disk.flush();
                    return 0;
                }
                case BlockRequest.T_GET_ID -> {
                    int n = (int) Math.min(request.dataLength, id.length);
                    chain.writeToWritable(0, id, 0, n);
                    return n;
                }
                default -> throw BlockRequestException.unsupported(request.type);
            }
        } catch (IOException e) {
            throw BlockRequestException.hostIo(disk.name(), e);
        }
    }

    /**
     * Moves {@code length} bytes between the disk at {@code diskOffset} and the request's data segments: for a read
     * the device-writable segments (minus the trailing status byte), for a write the device-readable segments after
     * the 16-byte header. The segments go to the backend together, as one scattered transfer: a 1 MiB read from a
     * guest's user buffer is typically 256 page-sized segments, and one system call each cost most of its time.
     */
    private void transfer(DescriptorChain chain, boolean toGuest, long diskOffset, long length) throws IOException {
        int first = toGuest ? chain.readableSegmentCount() : 0;
        int end = toGuest ? chain.segmentCount() : chain.readableSegmentCount();
        long skip = toGuest ? 0 : BlockRequest.HEADER_SIZE;
        long remaining = length;
        List<ByteBuffer> views = new ArrayList<>(end - first);
        for (int i = first; i < end && remaining > 0; i++) {
            long segmentLength = chain.length(i);
            if (skip >= segmentLength) {
                skip -= segmentLength;
                continue;
            }
            long address = chain.address(i) + skip;
            long bytes = Math.min(segmentLength - skip, remaining);
            skip = 0;
            while (bytes > 0) {
                int piece = (int) Math.min(bytes, MAX_TRANSFER);
                views.add(memory.buffer(address, piece));
                address += piece;
                bytes -= piece;
                remaining -= piece;
            }
        }
        ByteBuffer[] buffers = views.toArray(ByteBuffer[]::new);
        if (toGuest) {
            disk.read(diskOffset, buffers);
        } else {
            disk.write(diskOffset, buffers);
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
        this.requestErrorListener = java.util.Objects.requireNonNull(listener);
    }

    /** Requests answered with an error status so far, for diagnostics. */
    public long requestErrors() {
        return requestErrors;
    }

    public String lastRequestError() {
        return lastRequestError;
    }

    public DiskBackend disk() {
        return disk;
    }
}
