package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IoctlTest {
    @Test
    void request_numbers_encode_direction_size_type_and_number() {
        assertEquals(0xae80L, Ioctl.io(0xae, 0x80));                  // KVM_RUN
        assertEquals(0x4020ae46L, Ioctl.iow(0xae, 0x46, 32));         // KVM_SET_USER_MEMORY_REGION
        assertEquals(0x8090ae81L, Ioctl.ior(0xae, 0x81, 144));        // KVM_GET_REGS
        assertEquals(0xc008ae05L, Ioctl.iowr(0xae, 0x05, 8));         // KVM_GET_SUPPORTED_CPUID
        assertEquals(0x5401L, Ioctl.io('T', 0x01));                   // TCGETS
        assertEquals(0x400454caL, TapDevice.TUNSETIFF);               // _IOW('T', 202, int), linux/if_tun.h
    }

    @Test
    void the_tap_request_asks_for_a_tap_without_packet_information() {
        assertEquals(0x0002, TapDevice.IFF_TAP);
        assertEquals(0x1000, TapDevice.IFF_NO_PI);
        assertEquals(0x4000, TapDevice.IFF_VNET_HDR);
        assertEquals(0x400454d0L, TapDevice.TUNSETOFFLOAD);           // _IOW('T', 208, unsigned int)
        assertEquals(0x400454d8L, TapDevice.TUNSETVNETHDRSZ);         // _IOW('T', 216, int)
        assertEquals(0x01, TapDevice.TUN_F_CSUM);
        assertEquals(0x02, TapDevice.TUN_F_TSO4);
        assertEquals(0x04, TapDevice.TUN_F_TSO6);
        assertEquals(16, TapDevice.IFNAMSIZ);
        assertEquals(40, TapDevice.IFREQ_SIZE);
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open("a-name-of-16-byte"));
        assertThrows(IllegalArgumentException.class, () -> TapDevice.open(""));
    }

    @Test
    void sizes_beyond_fourteen_bits_are_rejected() {
        assertThrows(IllegalArgumentException.class, () -> Ioctl.ior(0xae, 1, 1 << 14));
    }

    @Test
    void failed_calls_carry_the_call_errno_and_text() {
        NativeCallException e = assertThrows(NativeCallException.class,
                () -> Libc.open("/nonexistent/panavisor-test", Libc.O_RDONLY));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("open(/nonexistent/panavisor-test)", e.call());
        assertEquals("open(/nonexistent/panavisor-test): No such file or directory (errno 2)", e.getMessage());
    }

    @Test
    void ioctl_on_a_file_that_is_not_a_device_returns_enotty() {
        int fd = Libc.open("/dev/null", Libc.O_RDONLY);
        try {
            assertEquals(-Errno.ENOTTY, Libc.ioctlOrErrno(fd, Ioctl.io(0xae, 0x00), 0));
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void eventfd_read_and_write_round_trip() {
        int fd = Libc.eventfd(0, Libc.EFD_NONBLOCK);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var buffer = arena.allocate(8);
            assertEquals(-Errno.EAGAIN, Libc.readOrErrno(fd, buffer), "empty eventfd would block");
            buffer.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 3);
            assertEquals(8, Libc.writeOrErrno(fd, buffer));
            assertEquals(8, Libc.writeOrErrno(fd, buffer));
            buffer.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 0);
            assertEquals(8, Libc.readOrErrno(fd, buffer));
            assertEquals(6, buffer.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0), "eventfd sums writes");
        } finally {
            Libc.close(fd);
        }
        assertTrue(Libc.strerror(Errno.EACCES).contains("Permission denied"));
    }
}
