package dev.panavisor.devices.virtio.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.devices.virtio.RecordingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.HostileDriver;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.testing.FuzzLimits;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * Hostile virtio-blk requests (virtio 1.2 §5.2.6) in well-formed chains: any type, sectors at and beyond the end of
 * the disk or overflowing when turned into bytes, data that is not whole sectors, headers cut short or split over
 * descriptors, status bytes sharing a descriptor with data or missing, writes to a read-only disk, disks whose size
 * is not a multiple of 512.
 *
 * <p>Properties, against a model of the disk kept by the test: every request comes back in the used ring with the
 * status the spec gives (OK, IOERR or UNSUPP; none when there is no writable byte to hold it) and a used length no
 * larger than its writable part; the disk changes only by successful writes, exactly by their data; a successful
 * read returns the disk's bytes; nothing escapes the device; no host memory outside the guest's is touched.
 *
 * <p>Jazzer chooses every request from its input; the regression corpus, replayed by every test run, is
 * {@code src/test/resources/dev/panavisor/devices/virtio/block/VirtioBlockFuzzTestInputs/}.
 */
@Tag("fuzz")
class VirtioBlockFuzzTest {
    static final long MEMORY = 0x10000;
    /** Requests' buffers: after the queue's rings (1,024 entries from 0x1000: descriptors, avail, used to 0x7810). */
    static final long DATA = 0x8000;

    /** One request as the test built it, and what the device must answer. */
    record Request(int head, long statusAddress, int expectedStatus, long writable, long[] data, long dataLength,
            int type, long sector, byte[] written) {
    }

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void every_request_gets_the_specified_status_and_only_valid_writes_change_the_disk(FuzzedDataProvider data) {
        GuardedGuestMemory memory = GuardedGuestMemory.scrambled(data.consumeLong(), MEMORY, 1_000_000);
        int sectors = data.consumeInt(0, 15);
        byte[] contents = new byte[sectors * 512 + (data.consumeBoolean() ? data.consumeInt(0, 511) : 0)];
        for (int i = 0; i < contents.length; i++) {
            contents[i] = (byte) (i * 31 + i / 512); // each sector different, so a read of the wrong one shows
        }
        byte[] model = contents.clone();
        boolean readOnly = data.consumeInt(0, 3) == 0;
        HeapDiskBackend disk = new HeapDiskBackend(contents, readOnly);
        VirtioBlock device = new VirtioBlock(disk, "fuzz");
        long capacity = device.capacitySectors();
        QueueLayout layout = QueueLayout.contiguous(0x1000, VirtioBlock.QUEUE_SIZE);
        assertEquals(true, layout.end() <= DATA, "the rings run into the requests' buffers");
        DriverQueue queue = new DriverQueue(memory, layout);
        RecordingInterrupt interrupt = new RecordingInterrupt();
        device.activate(device.offeredFeatures(),
                List.of(new SplitVirtqueue(memory, layout, VirtioBlock.QUEUE_SIZE, false, true)), memory, interrupt);

        long[] next = {DATA};
        List<Request> requests = new ArrayList<>();
        for (int i = data.consumeInt(1, 8); i > 0; i--) {
            requests.add(build(data, memory, queue, next, capacity, readOnly));
        }
        device.queueNotify(0);
        // Every request here is small, so each is answered on its own, with its own interrupt (no EVENT_IDX).
        assertEquals(java.util.Collections.nCopies(requests.size(), "used"), interrupt.events);
        for (Request request : requests) {
            DriverQueue.Used used = queue.pollUsed();
            assertNotNull(used, "request " + request + " not answered");
            assertEquals(request.head(), used.head());
            if (request.writable() == 0) {
                assertEquals(0, used.writtenBytes());
                continue;
            }
            assertEquals(request.expectedStatus(), memory.readU8(request.statusAddress()), request.toString());
            assertEquals(true, used.writtenBytes() <= request.writable(), "used length beyond the writable part");
            if (request.expectedStatus() == BlockStatus.OK.code()) {
                long at = request.sector() * VirtioBlock.SECTOR_SIZE;
                if (request.type() == BlockRequest.T_OUT) {
                    System.arraycopy(request.written(), 0, model, (int) at, request.written().length);
                } else if (request.type() == BlockRequest.T_IN) {
                    byte[] read = gather(memory, request.data(), request.dataLength());
                    assertArrayEquals(Arrays.copyOfRange(model, (int) at, (int) at + read.length), read);
                }
            }
        }
        assertNull(queue.pollUsed());
        assertArrayEquals(model, disk.contents());
        memory.assertGuardsIntact();
    }

    /** Builds, places and publishes one request; returns it with the status the spec requires. */
    static Request build(FuzzedDataProvider data, GuardedGuestMemory memory, DriverQueue queue, long[] next,
            long capacity, boolean readOnly) {
        int type = (int) HostileDriver.pick(data, BlockRequest.T_IN, BlockRequest.T_OUT, BlockRequest.T_FLUSH,
                BlockRequest.T_GET_ID, BlockRequest.T_IN, BlockRequest.T_OUT, 2, 11, 13);
        long sector = HostileDriver.pick(data, 0, capacity - 1, capacity, capacity + 1,
                data.consumeLong(0, capacity + 1), 1L << 55, Long.MIN_VALUE, -1);
        long dataLength = switch (data.consumeInt(0, 5)) {
            case 0 -> 0;
            case 1 -> data.consumeInt(0, 599);
            case 2 -> 20;
            default -> 512L * data.consumeInt(0, 4);
        };
        int headerLength = data.consumeInt(0, 7) == 0 ? data.consumeInt(0, 15) : 16;
        long header = allocate(next, headerLength + 16);
        memory.writeU32(header, type);
        memory.writeU64(header + 8, sector);
        boolean toDevice = type == BlockRequest.T_OUT || (type != BlockRequest.T_IN && data.consumeInt(0, 3) == 0);
        List<DriverQueue.Segment> segments = new ArrayList<>(split(data, header, headerLength, false));
        long dataAddress = allocate(next, dataLength + 1);
        List<DriverQueue.Segment> dataSegments = split(data, dataAddress, dataLength, !toDevice);
        segments.addAll(dataSegments);
        boolean statusInData = !toDevice && dataLength > 0 && data.consumeBoolean();
        boolean noStatus = data.consumeInt(0, 15) == 0;
        long statusAddress = statusInData ? dataAddress + dataLength : allocate(next, 1);
        if (statusInData) {
            DriverQueue.Segment last = segments.removeLast();
            segments.add(DriverQueue.writable(last.address(), last.length() + 1));
        } else if (!noStatus) {
            segments.add(DriverQueue.writable(statusAddress, 1));
        }
        if (segments.isEmpty()) {
            segments.add(DriverQueue.readable(header, 0)); // a chain of one empty descriptor
        }
        long writable = segments.stream().filter(DriverQueue.Segment::deviceWritable)
                .mapToLong(DriverQueue.Segment::length).sum();
        long readable = segments.stream().filter(s -> !s.deviceWritable()).mapToLong(DriverQueue.Segment::length).sum();
        if (writable > 0) {
            statusAddress = lastWritableByte(segments);
        }
        // The header is the first 16 readable bytes, wherever they are (a short header runs on into the data).
        long[] readableSegments = segments.stream().filter(s -> !s.deviceWritable())
                .flatMapToLong(s -> java.util.stream.LongStream.of(s.address(), s.length())).toArray();
        byte[] readableBytes = gather(memory, readableSegments, readable);
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(readableBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (readable >= 16) {
            type = bytes.getInt(0);
            sector = bytes.getLong(8);
        }
        long effectiveData = type == BlockRequest.T_OUT ? readable - 16 : Math.max(0, writable - 1);
        int status = expected(type, sector, readable >= 16 ? effectiveData : -1, capacity, readOnly);
        int head = queue.add(segments.toArray(DriverQueue.Segment[]::new));
        long[] dataParts = dataSegments.stream()
                .flatMapToLong(s -> java.util.stream.LongStream.of(s.address(), s.length())).toArray();
        byte[] written = readable >= 16 ? Arrays.copyOfRange(readableBytes, 16, readableBytes.length) : new byte[0];
        return new Request(head, statusAddress, status, writable, dataParts, effectiveData, type, sector, written);
    }

    /** The status §5.2.6 requires; {@code dataLength} -1 means the header is incomplete. */
    static int expected(int type, long sector, long dataLength, long capacity, boolean readOnly) {
        if (dataLength < 0) {
            return BlockStatus.IOERR.code();
        }
        return switch (type) {
            case BlockRequest.T_FLUSH, BlockRequest.T_GET_ID -> BlockStatus.OK.code();
            case BlockRequest.T_IN, BlockRequest.T_OUT -> {
                boolean inRange = dataLength % 512 == 0 && Long.compareUnsigned(sector, capacity) <= 0
                        && dataLength / 512 <= capacity - sector;
                yield (type == BlockRequest.T_OUT && readOnly) || !inRange ? BlockStatus.IOERR.code()
                        : BlockStatus.OK.code();
            }
            default -> BlockStatus.UNSUPPORTED.code();
        };
    }

    /** {@code length} bytes at {@code address} as one to three descriptors (the device must not assume a framing). */
    static List<DriverQueue.Segment> split(FuzzedDataProvider data, long address, long length, boolean writable) {
        List<DriverQueue.Segment> segments = new ArrayList<>();
        long done = 0;
        for (int pieces = data.consumeInt(1, 3); pieces > 1 && done < length; pieces--) {
            long piece = data.consumeLong(1, length - done);
            segments.add(new DriverQueue.Segment(address + done, piece, writable));
            done += piece;
        }
        if (done < length) {
            segments.add(new DriverQueue.Segment(address + done, length - done, writable));
        }
        return segments;
    }

    static long lastWritableByte(List<DriverQueue.Segment> segments) {
        DriverQueue.Segment last = segments.getLast();
        return last.address() + last.length() - 1;
    }

    static long allocate(long[] next, long bytes) {
        long at = next[0];
        next[0] += bytes + 8;
        return at;
    }

    static byte[] gather(GuardedGuestMemory memory, long[] segments, long length) {
        byte[] bytes = new byte[(int) length];
        int done = 0;
        for (int i = 0; i < segments.length && done < length; i += 2) {
            int n = (int) Math.min(segments[i + 1], length - done);
            memory.read(segments[i], bytes, done, n);
            done += n;
        }
        return bytes;
    }
}
