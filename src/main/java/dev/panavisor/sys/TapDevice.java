package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A TAP network interface's file descriptor: Ethernet frames in and out, one per read(2) and write(2)
 * (Documentation/networking/tuntap.rst). Opening {@code /dev/net/tun} gives a fresh descriptor that belongs to no
 * interface; TUNSETIFF with {@code IFF_TAP | IFF_NO_PI} attaches it to the TAP named in the request, and creates
 * that TAP when it does not exist (which needs CAP_NET_ADMIN; a TAP made beforehand with
 * {@code ip tuntap add NAME mode tap user USER} is usable by that user without it).
 *
 * <p>IFF_NO_PI: no 4-byte packet-information prefix; each read and write is exactly one Ethernet frame. No
 * IFF_VNET_HDR: the frames carry no virtio-net header, so the guest gets no checksum or segmentation offloads
 * (docs/network.md says why). The descriptor is non-blocking: the receiver waits in {@link Libc#pollOrErrno}.
 */
public final class TapDevice implements AutoCloseable {
    /** TUNSETIFF = _IOW('T', 202, int) (include/uapi/linux/if_tun.h); the kernel reads a struct ifreq. */
    public static final long TUNSETIFF = Ioctl.iow('T', 202, 4);
    /** if_tun.h flags: a TAP (Ethernet frames, not IP packets), without the packet-information prefix. */
    public static final short IFF_TAP = 0x0002;
    public static final short IFF_NO_PI = 0x1000;
    /** IFNAMSIZ, including the terminating NUL. */
    public static final int IFNAMSIZ = 16;
    /** sizeof(struct ifreq) on x86-64: the name, then a union whose largest member is 24 bytes. */
    static final int IFREQ_SIZE = 40;
    /** Offset of ifr_flags (a short) in struct ifreq. */
    static final int IFR_FLAGS = IFNAMSIZ;
    public static final String TUN_PATH = "/dev/net/tun";

    private final int fd;
    private final String name;
    private volatile boolean closed;

    private TapDevice(int fd, String name) {
        this.fd = fd;
        this.name = name;
    }

    /**
     * Opens {@link #TUN_PATH} and attaches to TAP {@code name}.
     *
     * @throws NativeCallException from open (ENOENT: no TUN/TAP in this kernel) or TUNSETIFF (EPERM: no such TAP
     *         and no right to create one, or another user's; EBUSY: attached to another descriptor already;
     *         EINVAL: a TUN or a multi-queue interface of that name)
     */
    public static TapDevice open(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name must be 1 to 15 bytes: " + name);
        }
        int fd = Libc.open(TUN_PATH, Libc.O_RDWR | Libc.O_NONBLOCK);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifreq = arena.allocate(IFREQ_SIZE, 8);
            ifreq.fill((byte) 0);
            MemorySegment.copy(bytes, 0, ifreq, ValueLayout.JAVA_BYTE, 0, bytes.length);
            ifreq.set(ValueLayout.JAVA_SHORT, IFR_FLAGS, (short) (IFF_TAP | IFF_NO_PI));
            int result = Libc.ioctlOrErrno(fd, TUNSETIFF, ifreq);
            if (result < 0) {
                Libc.close(fd);
                throw new NativeCallException("ioctl(TUNSETIFF " + name + ")", -result);
            }
        }
        return new TapDevice(fd, name);
    }

    public int fd() {
        return fd;
    }

    public String name() {
        return name;
    }

    /** Reads one frame into {@code buffer}; returns its length, or {@code -errno} (-EAGAIN: none waiting). */
    public long read(MemorySegment buffer) {
        return Libc.readOrErrno(fd, buffer);
    }

    /** Writes {@code frame} as one Ethernet frame; returns the bytes written, or {@code -errno}. */
    public long write(MemorySegment frame) {
        return Libc.writeOrErrno(fd, frame);
    }

    /** Detaches from the TAP (a TAP this process created goes away with it). */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }
}
