package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every libc function shares one call shape (six longs in, a long out; {@code Libc}'s comment on SHAPE), so these
 * check on the real C library, without KVM, what that shape must get right: int arguments and results with their
 * sign (fds, -1 results, errno), 64-bit lengths, pointers both ways, NULL, and the variadic functions.
 */
class LibcTest {
    @TempDir
    Path dir;

    /** A file of {@code contents} in the test's directory, opened through {@link Libc#open}. */
    private int openFile(String name, String contents, int flags) throws Exception {
        Path file = dir.resolve(name);
        Files.write(file, contents.getBytes(StandardCharsets.US_ASCII));
        return Libc.open(file.toString(), flags);
    }

    @Test
    void open_read_write_and_close_a_file() throws Exception {
        int fd = openFile("data", "hello", Libc.O_RDWR);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(5);
            assertEquals(5, Libc.readOrErrno(fd, buffer));
            assertEquals("hello", new String(buffer.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
            assertEquals(3, Libc.writeOrErrno(fd, arena.allocateFrom(ValueLayout.JAVA_BYTE, (byte) 'a', (byte) 'b',
                    (byte) 'c')));
        } finally {
            Libc.close(fd);
        }
        assertEquals("helloabc", Files.readString(dir.resolve("data")));
    }

    @Test
    void a_failed_call_reports_its_errno_and_the_c_library_text() {
        NativeCallException missing = assertThrows(NativeCallException.class,
                () -> Libc.open(dir.resolve("missing").toString(), Libc.O_RDONLY));
        assertEquals(Errno.ENOENT, missing.errno());
        assertTrue(missing.getMessage().contains("No such file or directory"), missing.getMessage());
        NativeCallException badFd = assertThrows(NativeCallException.class, () -> Libc.close(-1));
        assertEquals(Errno.EBADF, badFd.errno());
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(-Errno.EBADF, Libc.readOrErrno(-1, arena.allocate(8)));
        }
    }

    @Test
    void linking_ahead_on_another_thread_changes_nothing_a_run_can_see() throws Exception {
        java.util.Set<String> before = openDescriptors();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread ahead = Thread.ofPlatform().start(() -> {
            try {
                Libc.linkAhead();
            } catch (Throwable e) {
                failed.set(e);
            }
        });
        // Meanwhile this thread's own failed call keeps its own errno (each thread has its capture segment).
        NativeCallException missing = assertThrows(NativeCallException.class,
                () -> Libc.open(dir.resolve("missing").toString(), Libc.O_RDONLY));
        assertEquals(Errno.ENOENT, missing.errno());
        ahead.join();
        assertEquals(null, failed.get());
        java.util.Set<String> opened = openDescriptors();
        opened.removeAll(before);
        assertEquals(java.util.Set.of(), opened, "descriptors opened");
    }

    /** "N -> target" for each of this process's descriptors, but the one of the listing itself. */
    private static java.util.Set<String> openDescriptors() throws Exception {
        java.util.Set<String> open = new java.util.HashSet<>();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (!target.endsWith("/fd")) {
                        open.add(fd.getFileName() + " -> " + target);
                    }
                } catch (java.io.IOException e) {
                    // closed meanwhile
                }
            }
        }
        return open;
    }

    @Test
    void an_eventfd_counts_and_polls_and_answers_ioctls() {
        int fd = Libc.eventfd(0, Libc.EFD_NONBLOCK);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment counter = arena.allocate(ValueLayout.JAVA_LONG);
            assertEquals(-Errno.EAGAIN, Libc.readOrErrno(fd, counter));
            counter.set(ValueLayout.JAVA_LONG, 0, 0x1_0000_0003L); // more than 32 bits: the whole long travels
            assertEquals(8, Libc.writeOrErrno(fd, counter));
            MemorySegment pollFd = arena.allocate(8, 4);
            pollFd.set(ValueLayout.JAVA_INT, 0, fd);
            pollFd.set(ValueLayout.JAVA_SHORT, 4, (short) 1); // POLLIN
            assertEquals(1, Libc.pollOrErrno(pollFd, 1, 0));
            counter.set(ValueLayout.JAVA_LONG, 0, 0);
            assertEquals(8, Libc.readOrErrno(fd, counter));
            assertEquals(0x1_0000_0003L, counter.get(ValueLayout.JAVA_LONG, 0));
            // A request an eventfd does not know: ioctl is variadic, returns int -1 and sets errno.
            assertEquals(-Errno.ENOTTY, Libc.ioctlOrErrno(fd, 0x5401, arena.allocate(64))); // TCGETS
            MemorySegment one = arena.allocate(ValueLayout.JAVA_INT);
            one.set(ValueLayout.JAVA_INT, 0, 1);
            assertEquals(0, Libc.ioctl(fd, 0x5421, one, "FIONBIO")); // by pointer, as the kernel reads it
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void a_mapping_beyond_four_gib_is_made_used_advised_and_unmapped() {
        long length = 5L << 30; // a 64-bit length: the upper half must reach mmap
        MemorySegment mapping = Libc.mmap(length, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0, "test");
        try {
            assertEquals(length, mapping.byteSize());
            mapping.set(ValueLayout.JAVA_LONG, length - 8, 42);
            assertEquals(42, mapping.get(ValueLayout.JAVA_LONG, length - 8));
            int advice = Libc.madvise(mapping.asSlice(0, 2 << 20), Libc.MADV_HUGEPAGE);
            assertTrue(advice == 0 || advice == -Errno.EINVAL, "madvise: " + advice);
        } finally {
            Libc.munmap(mapping);
        }
        assertThrows(NativeCallException.class, () -> Libc.mmap(-4096, Libc.PROT_READ,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0, "negative"));
    }

    @Test
    void a_kick_sent_to_a_thread_that_blocks_it_waits_until_taken_off() throws Exception {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread thread = Thread.ofPlatform().start(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment before = KickSignal.blockOnThisThread(arena);
                assertEquals(0, before.get(ValueLayout.JAVA_LONG, 0) & (1L << (KickSignal.SIGNAL - 1)));
                assertFalse(KickSignal.consumePending());
                KickSignal.send(Libc.pthreadSelf());
                boolean first = KickSignal.consumePending();
                boolean second = KickSignal.consumePending();
                result.set(first + " " + second);
            } catch (Throwable t) {
                result.set(t);
            }
        });
        thread.join();
        assertEquals("true false", String.valueOf(result.get()));
    }

    @Test
    void prctl_syscall_kill_and_the_terminal_calls_reach_the_kernel() throws Exception {
        int pdumpable = 3; // PR_GET_DUMPABLE: 0 or 1
        int dumpable = Libc.prctl(pdumpable, 0);
        assertTrue(dumpable == 0 || dumpable == 1, "dumpable " + dumpable);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(ProcessHandle.current().pid(), Libc.syscallOrErrno(Syscall.GETPID.number(), 0, 0,
                    arena.allocate(8)));
        }
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        NativeCallException noProcess = assertThrows(NativeCallException.class,
                () -> ProcessSignal.send(gone.pid(), 0));
        assertEquals(3, noProcess.errno()); // ESRCH
        assertFalse(Libc.isatty(-1));
        assertEquals("No such file or directory", Libc.strerror(Errno.ENOENT));
    }

    /**
     * Each thread gets its own iovec array, the same one at every call, so a request's iovecs cost no allocation;
     * more than IOV_MAX of them get an array of their own.
     */
    @Test
    void each_thread_has_its_own_iovec_array_and_more_than_iov_max_get_a_larger_one() throws Exception {
        MemorySegment mine = PositionalIo.iovecs(1);
        assertEquals(mine.address(), PositionalIo.iovecs(PositionalIo.IOV_MAX).address(), "reused on this thread");
        assertEquals(PositionalIo.IOV_MAX * PositionalIo.IOVEC_BYTES, mine.byteSize());
        MemorySegment[] other = new MemorySegment[1];
        Thread thread = Thread.ofPlatform().start(() -> other[0] = PositionalIo.iovecs(1));
        thread.join();
        assertNotEquals(mine.address(), other[0].address(), "another thread's array");
        MemorySegment large = PositionalIo.iovecs(PositionalIo.IOV_MAX + 1);
        assertEquals((PositionalIo.IOV_MAX + 1) * PositionalIo.IOVEC_BYTES, large.byteSize());
        assertNotEquals(mine.address(), large.address());
    }

    /**
     * transferFully moves every byte it is told of: all at once leaves the iovecs as they were; a file that ends
     * first gives what it had; more than IOV_MAX iovecs take several calls, the iovecs advanced between them.
     */
    @Test
    void transfer_fully_reads_everything_even_over_several_calls_and_stops_at_the_end_of_the_file()
            throws Exception {
        byte[] content = new byte[PositionalIo.IOV_MAX + 100];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 7);
        }
        Path file = dir.resolve("many");
        Files.write(file, content);
        int fd = Libc.open(file.toString(), Libc.O_RDONLY);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(3);
            MemorySegment b = arena.allocate(4);
            MemorySegment iovecs = PositionalIo.iovecs(2);
            PositionalIo.setIovec(iovecs, 0, a.address(), 3);
            PositionalIo.setIovec(iovecs, 1, b.address(), 4);
            assertEquals(7, PositionalIo.transferFully(fd, iovecs, 2, 7, 10, false, () -> false));
            assertEquals(4, iovecs.get(ValueLayout.JAVA_LONG, PositionalIo.IOVEC_BYTES + 8), "left as it was");
            assertEquals(content[13], b.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(5, PositionalIo.transferFully(fd, iovecs, 2, 7, content.length - 5, false,
                    () -> false), "at the end");

            int count = content.length; // one byte per iovec: more than one call can take
            MemorySegment bytes = arena.allocate(count);
            MemorySegment many = PositionalIo.iovecs(count);
            for (int i = 0; i < count; i++) {
                PositionalIo.setIovec(many, i, bytes.address() + i, 1);
            }
            assertEquals(count, PositionalIo.transferFully(fd, many, count, count, 0, false, () -> false));
            assertArrayEquals(content, bytes.toArray(ValueLayout.JAVA_BYTE));
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * A transfer larger than CALL_BYTES_MAX goes in calls of that size, over one iovec (cut short for a call and put
     * back) and over several, and asks stop before each call: the one a VM's end answers yes to ends it early.
     */
    @Test
    void a_transfer_larger_than_a_call_goes_in_calls_of_call_bytes_max_and_stop_ends_it_between_them()
            throws Exception {
        long max = PositionalIo.CALL_BYTES_MAX;
        byte[] content = new byte[(int) (2 * max + 5)];
        for (int i = 0; i < content.length; i += 4096) {
            content[i] = (byte) (i / 4096 + 1);
        }
        Path file = dir.resolve("large");
        Files.write(file, content);
        int fd = Libc.open(file.toString(), Libc.O_RDONLY);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(content.length);
            MemorySegment one = PositionalIo.iovecs(1);
            PositionalIo.setIovec(one, 0, buffer.address(), content.length);
            int[] asked = {0};
            assertEquals(content.length, PositionalIo.transferFully(fd, one, 1, content.length, 0, false, () -> {
                asked[0]++;
                return false;
            }));
            assertEquals(3, asked[0], "three calls: two of CALL_BYTES_MAX, then 5 bytes");
            assertArrayEquals(content, buffer.toArray(ValueLayout.JAVA_BYTE));

            // Three iovecs, 0.75 + 0.75 + 0.5 of a call and 5 bytes: the first call cuts the second iovec short, the
            // second call the third one; each is put back, and the next call starts where the last one ended.
            MemorySegment three = PositionalIo.iovecs(3);
            long quarters = max * 3 / 4;
            PositionalIo.setIovec(three, 0, buffer.address(), quarters);
            PositionalIo.setIovec(three, 1, buffer.address() + quarters, quarters);
            PositionalIo.setIovec(three, 2, buffer.address() + 2 * quarters, content.length - 2 * quarters);
            buffer.fill((byte) 0);
            asked[0] = 0;
            assertEquals(content.length, PositionalIo.transferFully(fd, three, 3, content.length, 0, false, () -> {
                asked[0]++;
                return false;
            }));
            assertEquals(3, asked[0], "three calls again");
            assertArrayEquals(content, buffer.toArray(ValueLayout.JAVA_BYTE));

            PositionalIo.setIovec(three, 0, buffer.address(), quarters);
            PositionalIo.setIovec(three, 1, buffer.address() + quarters, quarters);
            PositionalIo.setIovec(three, 2, buffer.address() + 2 * quarters, content.length - 2 * quarters);
            buffer.fill((byte) 0);
            int[] calls = {0};
            long moved = PositionalIo.transferFully(fd, three, 3, content.length, 0, false, () -> calls[0]++ == 1);
            assertEquals(max, moved, "stop said yes before the second call");
            assertArrayEquals(java.util.Arrays.copyOf(content, (int) max),
                    buffer.asSlice(0, max).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0, buffer.get(ValueLayout.JAVA_BYTE, max), "nothing past the first call");
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void preadv_fills_several_buffers_from_an_offset() throws Exception {
        int fd = openFile("disk", "0123456789", Libc.O_RDONLY);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(3);
            MemorySegment b = arena.allocate(4);
            MemorySegment iovecs = arena.allocate(2 * PositionalIo.IOVEC_BYTES);
            PositionalIo.setIovec(iovecs, 0, a.address(), 3);
            PositionalIo.setIovec(iovecs, 1, b.address(), 4);
            assertEquals(7, PositionalIo.preadvOrErrno(fd, iovecs, 2, 2));
            assertArrayEquals("234".getBytes(StandardCharsets.US_ASCII), a.toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals("5678".getBytes(StandardCharsets.US_ASCII), b.toArray(ValueLayout.JAVA_BYTE));
            assertEquals(-Errno.EBADF, PositionalIo.pwritevOrErrno(fd, iovecs, 2, 0)); // opened read-only
        } finally {
            Libc.close(fd);
        }
    }
}
