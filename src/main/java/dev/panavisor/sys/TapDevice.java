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
 * <p>IFF_NO_PI: no 4-byte packet-information prefix; each read and write is exactly one Ethernet frame. With
 * {@code vnetHeader}, also IFF_VNET_HDR: every frame read or written is preceded by a virtio-net header
 * ({@code struct virtio_net_hdr}, here {@link #VNET_HEADER_SIZE} bytes, the size virtio 1.x uses, set with
 * TUNSETVNETHDRSZ), which carries checksum and segmentation offload requests between the guest and the host's
 * stack; {@link #setOffload} then says which offloaded frames this side can take on reads (docs/network.md,
 * "Offloads"). The descriptor is non-blocking: the receiver waits in {@link Libc#pollOrErrno}.
 */
public final class TapDevice implements AutoCloseable {
    /** TUNSETIFF = _IOW('T', 202, int) (include/uapi/linux/if_tun.h); the kernel reads a struct ifreq. */
    public static final long TUNSETIFF = Ioctl.iow('T', 202, 4);
    /** if_tun.h flags: a TAP (Ethernet frames, not IP packets), without the packet-information prefix. */
    public static final short IFF_TAP = 0x0002;
    public static final short IFF_NO_PI = 0x1000;
    /** if_tun.h: frames are preceded by a virtio-net header. */
    public static final short IFF_VNET_HDR = 0x4000;
    /** TUNSETOFFLOAD = _IOW('T', 208, unsigned int): the argument is the flags themselves, not a pointer. */
    public static final long TUNSETOFFLOAD = Ioctl.iow('T', 208, 4);
    /** TUNSETVNETHDRSZ = _IOW('T', 216, int): a pointer to the header size. */
    public static final long TUNSETVNETHDRSZ = Ioctl.iow('T', 216, 4);
    /** if_tun.h TUN_F_* offload flags for TUNSETOFFLOAD: what the reader of the TAP can take. */
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    /** The virtio 1.x header: struct virtio_net_hdr (10 bytes) and num_buffers (2 bytes, which the TAP skips). */
    public static final int VNET_HEADER_SIZE = 12;
    /** IFNAMSIZ, including the terminating NUL. */
    public static final int IFNAMSIZ = 16;
    /** sizeof(struct ifreq) on x86-64: the name, then a union whose largest member is 24 bytes. */
    static final int IFREQ_SIZE = 40;
    /** Offset of ifr_flags (a short) in struct ifreq. */
    static final int IFR_FLAGS = IFNAMSIZ;
    public static final String TUN_PATH = "/dev/net/tun";

    private final int fd;
    private final String name;
    private final boolean vnetHeader;
    private volatile boolean closed;

    private TapDevice(int fd, String name, boolean vnetHeader) {
        this.fd = fd;
        this.name = name;
        this.vnetHeader = vnetHeader;
    }

    /** Opens TAP {@code name} without virtio-net headers: plain Ethernet frames. */
    public static TapDevice open(String name) {
        return open(name, false);
    }

    /**
     * Opens {@link #TUN_PATH} and attaches to TAP {@code name}, with virtio-net headers if {@code vnetHeader}.
     *
     * @throws NativeCallException from open (ENOENT: no TUN/TAP in this kernel) or TUNSETIFF (EPERM: no such TAP
     *         and no right to create one, or another user's; EBUSY: attached to another descriptor already;
     *         EINVAL: a TUN or a multi-queue interface of that name)
     */
    public static TapDevice open(String name, boolean vnetHeader) {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name must be 1 to 15 bytes: " + name);
        }
        int fd = Libc.open(TUN_PATH, Libc.O_RDWR | Libc.O_NONBLOCK);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifreq = arena.allocate(IFREQ_SIZE, 8);
            ifreq.fill((byte) 0);
            MemorySegment.copy(bytes, 0, ifreq, ValueLayout.JAVA_BYTE, 0, bytes.length);
            ifreq.set(ValueLayout.JAVA_SHORT, IFR_FLAGS,
                    (short) (IFF_TAP | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0)));
            int result = Libc.ioctlOrErrno(fd, TUNSETIFF, ifreq);
            if (result < 0) {
                Libc.close(fd);
                throw new NativeCallException("ioctl(TUNSETIFF " + name + ")", -result);
            }
            if (vnetHeader) {
                MemorySegment size = arena.allocateFrom(ValueLayout.JAVA_INT, VNET_HEADER_SIZE);
                result = Libc.ioctlOrErrno(fd, TUNSETVNETHDRSZ, size);
                if (result < 0) {
                    Libc.close(fd);
                    throw new NativeCallException("ioctl(TUNSETVNETHDRSZ " + name + ")", -result);
                }
            }
        }
        return new TapDevice(fd, name, vnetHeader);
    }

    /**
     * TUNSETOFFLOAD: which offloaded frames reads may return ({@link #TUN_F_CSUM} partial checksums,
     * {@link #TUN_F_TSO4}/{@link #TUN_F_TSO6} TCP segments up to 64 KiB); 0 makes the host's stack finish every
     * frame before this side reads it. Only with virtio-net headers.
     *
     * @throws NativeCallException if the kernel refuses the combination (TSO without CSUM)
     */
    public void setOffload(int flags) {
        if (!vnetHeader) {
            throw new IllegalStateException("offloads need a TAP opened with virtio-net headers");
        }
        int result = Libc.ioctlOrErrno(fd, TUNSETOFFLOAD, flags);
        if (result < 0) {
            throw new NativeCallException("ioctl(TUNSETOFFLOAD " + name + ", 0x" + Integer.toHexString(flags) + ")",
                    -result);
        }
    }

    /** Whether frames carry a {@link #VNET_HEADER_SIZE}-byte virtio-net header. */
    public boolean hasVnetHeader() {
        return vnetHeader;
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
