package dev.panavisor.devices.virtio.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.queue.DriverQueue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileDiskBackendTest {
    static final int SECTORS = 32;

    @TempDir
    Path dir;

    Path image(String name, byte[] contents) throws IOException {
        Path path = dir.resolve(name);
        Files.write(path, contents);
        return path;
    }

    /** A named pipe is refused before it is opened: a read-only open would wait for a writer that never comes. */
    @Test
    void a_named_pipe_is_not_a_disk() throws Exception {
        Path fifo = dev.panavisor.testing.NamedPipes.make(dir.resolve("disk.fifo"));
        for (boolean readOnly : new boolean[] {true, false}) {
            var e = dev.panavisor.testing.NamedPipes.refusedWithoutWaiting(DiskException.class,
                    () -> FileDiskBackend.open(fifo, readOnly));
            assertEquals("disk image " + fifo + " is not a regular file", e.getMessage());
        }
    }

    @Test
    void guest_writes_and_reads_reach_the_file_which_never_grows() throws IOException {
        byte[] original = VirtioBlockTest.pattern(SECTORS * 512);
        Path path = image("disk.img", original);
        try (FileDiskBackend disk = FileDiskBackend.open(path, false)) {
            VirtioBlock device = new VirtioBlock(disk, "file");
            BlockDriver driver = new BlockDriver(device);
            assertEquals(SECTORS, device.capacitySectors());

            byte[] data = new byte[1024];
            Arrays.fill(data, (byte) 0xc3);
            assertEquals(BlockStatus.OK.code(), driver.write(5, data).status());
            assertEquals(BlockStatus.OK.code(), driver.request(BlockRequest.T_FLUSH, 0).status());
            assertEquals(BlockStatus.IOERR.code(), driver.write(SECTORS - 1, data).status());

            byte[] expected = original.clone();
            System.arraycopy(data, 0, expected, 5 * 512, 1024);
            assertArrayEquals(expected, Files.readAllBytes(path), "exactly sectors 5-6 changed; file same size");

            assertEquals(BlockStatus.OK.code(), driver.read(4, 2048).status());
            assertArrayEquals(Arrays.copyOfRange(expected, 4 * 512, 8 * 512),
                    driver.memory.readBytes(BlockDriver.DATA, 2048));
        }
    }

    /**
     * A request's data in several guest buffers, out of order in guest memory and of odd sizes, moves as one
     * vectored transfer: each buffer gets exactly its stretch of the disk, in chain order.
     */
    @Test
    void a_request_scattered_over_several_guest_buffers_reads_and_writes_each_stretch_in_chain_order()
            throws IOException {
        byte[] original = VirtioBlockTest.pattern(SECTORS * 512);
        Path path = image("scattered.img", original);
        try (FileDiskBackend disk = FileDiskBackend.open(path, false)) {
            scatteredReadAndWrite(new BlockDriver(new VirtioBlock(disk, "scattered")), path, original);
        }
    }

    /**
     * Reads sectors 3-10 into three guest buffers (out of order in memory, of odd sizes) and writes three buffers to
     * sectors 20-27: each buffer gets or gives exactly its stretch of the disk, in chain order.
     */
    static void scatteredReadAndWrite(BlockDriver driver, Path path, byte[] original) throws IOException {
        long[] at = {0x30000, 0x21000, 0x40000}; // guest addresses, not ascending
        int[] length = {512, 1536, 2048};       // 4096 bytes, sectors 3 to 10
        DriverQueue.Segment[] into = new DriverQueue.Segment[3];
        for (int i = 0; i < 3; i++) {
            into[i] = DriverQueue.writable(at[i], length[i]);
        }
        assertEquals(BlockStatus.OK.code(), driver.request(BlockRequest.T_IN, 3, into).status());
        int diskOffset = 3 * 512;
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(Arrays.copyOfRange(original, diskOffset, diskOffset + length[i]),
                    driver.memory.readBytes(at[i], length[i]), "buffer " + i);
            diskOffset += length[i];
        }
        byte[] expected = original.clone();
        DriverQueue.Segment[] from = new DriverQueue.Segment[3];
        diskOffset = 20 * 512;
        for (int i = 0; i < 3; i++) {
            byte[] data = new byte[length[i]];
            Arrays.fill(data, (byte) (0x41 + i));
            driver.memory.write(at[i], data);
            System.arraycopy(data, 0, expected, diskOffset, length[i]);
            diskOffset += length[i];
            from[i] = DriverQueue.readable(at[i], length[i]);
        }
        assertEquals(BlockStatus.OK.code(), driver.request(BlockRequest.T_OUT, 20, from).status());
        assertArrayEquals(expected, Files.readAllBytes(path), "sectors 20-27 hold the three buffers in order");
    }

    @Test
    void a_disk_image_that_shrinks_under_the_vm_answers_ioerr_and_the_device_goes_on() throws IOException {
        Path path = image("shrinks.img", VirtioBlockTest.pattern(SECTORS * 512));
        try (FileDiskBackend disk = FileDiskBackend.open(path, false)) {
            VirtioBlock device = new VirtioBlock(disk, "shrinks");
            BlockDriver driver = new BlockDriver(device);
            try (var channel = java.nio.channels.FileChannel.open(path, java.nio.file.StandardOpenOption.WRITE)) {
                channel.truncate(8 * 512); // another process cuts the image to 8 sectors
            }
            assertEquals(BlockStatus.IOERR.code(), driver.read(16, 512).status());
            assertTrue(device.lastRequestError().contains("was it truncated?"), device.lastRequestError());
            assertEquals(BlockStatus.OK.code(), driver.read(0, 512).status(), "the device still serves the rest");
        }
    }

    @Test
    void a_read_only_disk_is_byte_identical_after_the_guest_tries_to_write() throws IOException {
        byte[] original = VirtioBlockTest.pattern(SECTORS * 512);
        Path path = image("ro.img", original);
        FileTime modified = Files.getLastModifiedTime(path);
        try (FileDiskBackend disk = FileDiskBackend.open(path, true)) {
            VirtioBlock device = new VirtioBlock(disk, "ro");
            assertEquals(VirtioBlock.F_RO, device.offeredFeatures() & VirtioBlock.F_RO);
            BlockDriver driver = new BlockDriver(device);
            assertEquals(BlockStatus.IOERR.code(), driver.write(0, new byte[512]).status());
            assertEquals(BlockStatus.IOERR.code(), driver.write(7, new byte[4096]).status());
            assertEquals(BlockStatus.OK.code(), driver.request(BlockRequest.T_FLUSH, 0).status());
            assertEquals(BlockStatus.OK.code(), driver.read(0, 512).status());
            assertThrows(IOException.class, () -> disk.write(0, java.nio.ByteBuffer.allocate(512)),
                    "the backend refuses too, not just the device");
        }
        assertArrayEquals(original, Files.readAllBytes(path));
        assertEquals(modified, Files.getLastModifiedTime(path));
    }

    @Test
    void a_missing_disk_is_a_one_line_error_naming_the_path() {
        Path missing = dir.resolve("nope.img");
        DiskException e = assertThrows(DiskException.class, () -> FileDiskBackend.open(missing, false));
        assertEquals("disk image " + missing + " does not exist", e.getMessage());
        assertThrows(DiskException.class, () -> FileDiskBackend.open(missing, true));
    }

    @Test
    void a_directory_or_a_file_smaller_than_a_sector_is_refused() throws IOException {
        DiskException e = assertThrows(DiskException.class, () -> FileDiskBackend.open(dir, true));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
        Path tiny = image("tiny.img", new byte[100]);
        e = assertThrows(DiskException.class, () -> FileDiskBackend.open(tiny, false));
        assertTrue(e.getMessage().contains("smaller than one 512-byte sector") && e.getMessage().contains(
                tiny.toString()), e.getMessage());
    }

    @Test
    void an_unwritable_disk_opened_for_writing_is_a_one_line_error_naming_the_path() throws IOException {
        Path unwritable = unwritableFile();
        DiskException e = assertThrows(DiskException.class, () -> FileDiskBackend.open(unwritable, false));
        assertTrue(e.getMessage().contains(unwritable.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("writ"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line");
    }

    /**
     * A file this process cannot open for writing. A read-only mode bit stops an ordinary user; root ignores mode
     * bits, so as root (as in CI) use a read-only sysfs attribute, which the kernel refuses to open for writing
     * whoever asks.
     */
    private Path unwritableFile() throws IOException {
        if ("root".equals(System.getProperty("user.name"))) {
            Path attribute = Path.of("/sys/kernel/uevent_seqnum");
            assertTrue(Files.exists(attribute), "needs " + attribute + " to test as root");
            return attribute;
        }
        Path path = image("readonly.img", new byte[4096]);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("r--r--r--"));
        return path;
    }

    @Test
    void a_disk_already_open_in_this_process_is_refused_as_given_twice() throws IOException {
        Path path = image("shared.img", new byte[4096]);
        try (FileDiskBackend first = FileDiskBackend.open(path, false)) {
            // In one process the JVM's own lock table answers first: the same VM was given the image twice.
            DiskException e = assertThrows(DiskException.class, () -> FileDiskBackend.open(path, false));
            assertEquals("disk image " + path + " is already open in this VMM (given twice?)", e.getMessage());
            assertEquals(4096, first.sizeBytes());
        }
        FileDiskBackend.open(path, false).close(); // closing released the lock
    }

    /**
     * A path replaced between the backend's two opens: the lock, the size and every transfer stay with the file the
     * first open found (both halves of a request's paths: the channel's and preadv's), and the new file is not locked.
     */
    @Test
    void a_path_replaced_while_the_image_opens_leaves_lock_and_io_on_the_first_file() throws IOException {
        byte[] first = new byte[4096];
        Arrays.fill(first, (byte) 1);
        Path path = image("swapped.img", first);
        Path moved = dir.resolve("swapped.img.first");
        try (FileDiskBackend disk = FileDiskBackend.open(path, false, true, () -> {
            try {
                Files.move(path, moved);
                Files.write(path, new byte[8192]); // another file, of another size, under the same name
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        })) {
            assertEquals(4096, disk.sizeBytes());
            ByteBuffer heap = ByteBuffer.allocate(512);
            disk.read(0, heap);
            assertEquals(1, heap.get(0));
            ByteBuffer direct = ByteBuffer.allocateDirect(512);
            disk.read(512, new ByteBuffer[] {direct});
            assertEquals(1, direct.get(0));
            // This JVM's lock table knows which file is locked: the first one is, the new one is not.
            try (FileChannel other = FileChannel.open(moved, StandardOpenOption.WRITE)) {
                assertThrows(OverlappingFileLockException.class, other::tryLock);
            }
            FileDiskBackend.open(path, false).close();
        }
    }

    /** The same image in another process (another VMM): its lock, not this JVM's table, refuses the open. */
    @Test
    void a_disk_another_process_has_open_for_writing_is_refused_as_in_use() throws Exception {
        Path path = image("held.img", new byte[4096]);
        Process holder = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), DiskLockHolderMain.class.getName(), path.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String said = new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream()))
                    .readLine();
            assertEquals("open 4096", said);
            DiskException e = assertThrows(DiskException.class, () -> FileDiskBackend.open(path, true));
            assertEquals("disk image " + path + " is in use by another virtual machine (file is locked)",
                    e.getMessage());
            // serve's check while its warm VM process holds the lock: the file is checked, the lock left alone.
            FileDiskBackend.open(path, false, false).close();
        } finally {
            holder.getOutputStream().close();
            assertTrue(holder.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the holder did not end");
        }
        FileDiskBackend.open(path, false).close(); // its end released the lock
    }

    /**
     * Direct buffers (as guest memory gives) go through preadv and pwritev: more buffers than one call takes
     * (IOV_MAX, 1024), each getting exactly its stretch; and a read past the end of a truncated file is an
     * EOFException naming the image, not a buffer left half-filled.
     */
    @Test
    void direct_buffers_move_with_preadv_and_pwritev_even_beyond_iov_max_and_a_short_file_is_an_eof()
            throws IOException {
        int count = 1500;
        byte[] original = VirtioBlockTest.pattern(count * 512 + 4096);
        Path path = image("vectored.img", original);
        try (FileDiskBackend disk = FileDiskBackend.open(path, false)) {
            java.nio.ByteBuffer[] buffers = new java.nio.ByteBuffer[count];
            for (int i = 0; i < count; i++) {
                buffers[i] = java.nio.ByteBuffer.allocateDirect(512);
            }
            disk.read(4096, buffers);
            for (int i = 0; i < count; i++) {
                assertEquals(512, buffers[i].position(), "buffer " + i + " filled to its limit");
                byte[] got = new byte[512];
                buffers[i].flip().get(got);
                assertArrayEquals(Arrays.copyOfRange(original, 4096 + 512 * i, 4096 + 512 * (i + 1)), got,
                        "buffer " + i);
            }

            for (int i = 0; i < count; i++) {
                buffers[i].clear();
                buffers[i].put(0, (byte) (i % 251)).put(511, (byte) 0x5a);
            }
            disk.write(0, buffers);
            byte[] stored = Files.readAllBytes(path);
            for (int i = 0; i < count; i++) {
                assertEquals((byte) (i % 251), stored[512 * i], "first byte of buffer " + i);
                assertEquals((byte) 0x5a, stored[512 * i + 511], "last byte of buffer " + i);
            }
            assertEquals(original.length, stored.length, "the file did not grow");

            java.nio.ByteBuffer[] pastTheEnd = {java.nio.ByteBuffer.allocateDirect(4096),
                    java.nio.ByteBuffer.allocateDirect(4096)};
            IOException e = assertThrows(java.io.EOFException.class, () -> disk.read(original.length - 4096,
                    pastTheEnd));
            assertTrue(e.getMessage().contains(path.toString()) && e.getMessage().contains("truncated"),
                    e.getMessage());
        }
    }

    /**
     * In mmap'd guest memory, as in a VM, the device hands the file backend its segments' host addresses (one
     * preadv or pwritev, no buffer objects): a scattered read and write land byte for byte, and a read past the end
     * of a file that shrank is IOERR with the reason.
     */
    @Test
    void in_native_guest_memory_requests_move_through_host_addresses() throws IOException {
        byte[] original = VirtioBlockTest.pattern(SECTORS * 512);
        Path path = image("native.img", original);
        try (FileDiskBackend disk = FileDiskBackend.open(path, false);
                dev.panavisor.memory.MappedGuestMemory memory = dev.panavisor.memory.MappedGuestMemory.allocate(
                        1 << 20)) {
            VirtioBlock device = new VirtioBlock(disk, "native");
            BlockDriver driver = new BlockDriver(device, memory);
            scatteredReadAndWrite(driver, path, original);
            try (var channel = java.nio.channels.FileChannel.open(path, java.nio.file.StandardOpenOption.WRITE)) {
                channel.truncate(8 * 512);
            }
            assertEquals(BlockStatus.IOERR.code(), driver.read(16, 512).status());
            assertTrue(device.lastRequestError().contains("was it truncated?"), device.lastRequestError());
        }
    }

    /**
     * The backend checks each segment against guest memory again where it turns it into a host address (the chain
     * checked it first): a segment reaching past the end fails before any byte moves, and no other memory is read
     * or written.
     */
    @Test
    void a_segment_past_the_end_of_guest_memory_fails_before_any_byte_moves() throws IOException {
        Path path = image("bounds.img", VirtioBlockTest.pattern(SECTORS * 512));
        try (FileDiskBackend disk = FileDiskBackend.open(path, false);
                dev.panavisor.memory.MappedGuestMemory memory = dev.panavisor.memory.MappedGuestMemory.allocate(
                        1 << 20)) {
            GuestSegments segments = new GuestSegments(memory, new long[] {0, (1 << 20) - 512},
                    new int[] {512, 1024}, 2);
            assertThrows(dev.panavisor.memory.GuestMemoryException.class, () -> disk.read(0, segments));
            assertEquals(0, memory.readU64(0), "the segment inside was not read either");
            byte[] before = Files.readAllBytes(path);
            assertThrows(dev.panavisor.memory.GuestMemoryException.class, () -> disk.write(0, segments));
            assertArrayEquals(before, Files.readAllBytes(path), "nothing written");
        }
    }

    /**
     * A hostile driver's read of 1,022 segments of 128 MiB, all over the same guest memory (128 GiB from a sparse
     * disk: 72 s on this project's machine in one piece). Once the VM ends (abandonTransfers) it stops at its next
     * 16 MiB call: answered with an I/O error that is not reported to the user as a failing disk, as is every
     * request after it; a flush still works.
     */
    @Test
    @org.junit.jupiter.api.Timeout(300) // the read never under way, or never stopped, fails it here
    void a_hostile_huge_read_stops_when_the_vm_ends_and_is_no_host_failure() throws Exception {
        Path path = dir.resolve("huge.img");
        try (var channel = java.nio.channels.FileChannel.open(path, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(0);
            channel.write(java.nio.ByteBuffer.wrap(new byte[1]), (128L << 30) - 1); // sparse: no block written
        }
        long segment = 128L << 20;
        try (FileDiskBackend disk = FileDiskBackend.open(path, false);
                dev.panavisor.memory.MappedGuestMemory memory = dev.panavisor.memory.MappedGuestMemory.allocate(
                        BlockDriver.DATA + segment)) {
            VirtioBlock device = new VirtioBlock(disk, "huge");
            List<String> hostFailures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            device.onHostError(hostFailures::add);
            BlockDriver driver = new BlockDriver(device, memory);
            DriverQueue.Segment[] data = new DriverQueue.Segment[VirtioBlock.SEG_MAX];
            java.util.Arrays.fill(data, DriverQueue.writable(BlockDriver.DATA, segment));
            memory.fill(BlockDriver.DATA, segment, (byte) 0xff); // the sparse disk reads as zeros: a mark of progress
            java.util.concurrent.CompletableFuture<BlockDriver.Completion> read = java.util.concurrent
                    .CompletableFuture.supplyAsync(() -> driver.request(BlockRequest.T_IN, 0, data));
            while (memory.readU8(BlockDriver.DATA) != 0) { // the first call has begun to copy
                Thread.sleep(1);
            }
            assertTrue(!read.isDone(), "the read is under way");
            disk.abandonTransfers();
            // The limit only turns a transfer that ignores the end into a failure; it checks no speed.
            assertEquals(BlockStatus.IOERR.code(), read.get(60, TimeUnit.SECONDS).status());
            assertTrue(device.lastRequestError().contains("abandoned"), device.lastRequestError());
            assertEquals(BlockStatus.IOERR.code(), driver.read(0, 4096).status(), "a later request too");
            assertEquals(List.of(), hostFailures, "the user is not told of a failing disk");
            disk.flush();
        }
    }
}
