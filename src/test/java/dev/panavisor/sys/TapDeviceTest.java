package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TAP's descriptor needs /dev/net/tun and a TAP (the lab's network scenarios open real ones); what is tested here
 * is the gathering write a frame from several guest buffers goes through, on an ordinary file.
 */
class TapDeviceTest {
    @TempDir
    Path dir;

    @Test
    void writev_writes_the_buffers_in_order_as_one_piece() throws Exception {
        Path file = dir.resolve("frame");
        Files.write(file, new byte[0]);
        int fd = Libc.open(file.toString(), Libc.O_RDWR);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment first = arena.allocateFrom("head", StandardCharsets.US_ASCII);
            MemorySegment second = arena.allocateFrom("er and frame", StandardCharsets.US_ASCII);
            MemorySegment iovecs = PositionalIo.iovecs(2);
            PositionalIo.setIovec(iovecs, 0, first.address(), 4); // without the strings' terminating zeros
            PositionalIo.setIovec(iovecs, 1, second.address(), 12);
            assertEquals(16, TapDevice.writevOrErrno(fd, iovecs, 2));
        } finally {
            Libc.close(fd);
        }
        assertArrayEquals("header and frame".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(file));
    }

    @Test
    void writev_reports_errno_and_refuses_iovecs_it_was_not_given() {
        MemorySegment iovecs = PositionalIo.iovecs(1);
        PositionalIo.setIovec(iovecs, 0, iovecs.address(), 1);
        assertEquals(-Errno.EBADF, TapDevice.writevOrErrno(-1, iovecs, 1));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(PositionalIo.IOVEC_BYTES, 8);
            assertThrows(IllegalArgumentException.class, () -> TapDevice.writevOrErrno(-1, one, 2));
        }
    }
}
