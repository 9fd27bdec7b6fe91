package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.sys.Errno;
import dev.panavisor.sys.NativeCallException;
import org.junit.jupiter.api.Test;

/** The one-line messages for each way attaching to a TAP fails (the lab's net scenarios cause them for real). */
class TapNetworkTest {
    static String failure(String call, int errno) {
        return TapNetwork.openFailure("tap0", new NativeCallException(call, errno));
    }

    @Test
    void each_failure_says_what_is_wrong_and_what_to_do() {
        assertEquals("--net tap=tap0: /dev/net/tun does not exist (no TUN/TAP in this kernel: modprobe tun)",
                failure("open(/dev/net/tun)", Errno.ENOENT));
        assertEquals("--net tap=tap0: no TAP of that name that this user may use, and creating one needs "
                + "CAP_NET_ADMIN; create it first: ip tuntap add tap0 mode tap user $(id -un)",
                failure("ioctl(TUNSETIFF tap0)", Errno.EPERM));
        assertEquals("--net tap=tap0: the TAP is in use by another process (one VM per TAP)",
                failure("ioctl(TUNSETIFF tap0)", Errno.EBUSY));
        assertEquals("--net tap=tap0: an interface of that name exists but is not a single-queue TAP",
                failure("ioctl(TUNSETIFF tap0)", Errno.EINVAL));
        assertEquals("--net tap=tap0: cannot open /dev/net/tun: open(/dev/net/tun): Permission denied (errno 13)",
                failure("open(/dev/net/tun)", Errno.EACCES));
    }

    @Test
    void poll_structures_match_the_kernel_s() {
        // struct pollfd is { int fd; short events; short revents; }; POLLIN/POLLERR/POLLNVAL from asm-generic/poll.h.
        assertEquals(8, TapNetwork.POLLFD_SIZE);
        assertEquals(0x1, TapNetwork.POLLIN);
        assertEquals(0x8, TapNetwork.POLLERR);
        assertEquals(0x10, TapNetwork.POLLHUP);
        assertEquals(0x20, TapNetwork.POLLNVAL);
    }
}
