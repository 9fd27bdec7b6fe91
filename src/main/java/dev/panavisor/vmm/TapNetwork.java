package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.net.VirtioNet;
import dev.panavisor.sys.Errno;
import dev.panavisor.sys.EventFd;
import dev.panavisor.sys.Libc;
import dev.panavisor.sys.NativeCallException;
import dev.panavisor.sys.TapDevice;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Consumer;

/**
 * A {@link VirtioNet} device's host side on a TAP interface ({@code run --net tap=NAME}): frames the guest sends
 * are written to the TAP, frames the host sends to the TAP are read by this class's receive thread and delivered
 * into the guest's receive buffers. The TAP is opened with virtio-net headers, so each frame keeps the guest's (or
 * the host's) header and with it the checksum and segmentation offloads ({@link #offloads()}).
 *
 * <p>Transmit runs on the device's worker ({@link DeviceWorker}), which calls {@link #transmit}: a TAP write never
 * blocks (the kernel queues the frame or drops it), so a slow host network cannot stall the worker.
 *
 * <p>Receive: one thread, blocked in poll(2) on two descriptors, the TAP and a wake-up eventfd. It polls the TAP
 * only while the guest has a receive buffer ({@link VirtioNet#canReceive}, under the transport's lock); without one
 * it waits on the eventfd alone, so frames stay queued in the TAP (the kernel's own queue, up to its txqueuelen)
 * rather than being read and dropped, and nothing spins. The guest's next buffer brings a notification, which KVM
 * signals on that same eventfd (an ioeventfd on the receive queue, {@link #receiveNotificationFd()}; without
 * ioeventfds the device calls {@link #wake()} from the notification), and the thread looks again.
 * {@link #close()} wakes it the same way with a stop flag. A frame is read only when a buffer is known to be there,
 * and the receive thread is the only one that consumes receive buffers, so a frame read is a frame delivered (or
 * dropped by the device with a counted reason, too big for the buffer; or lost to a guest reset in between, which
 * discards the queues). With mergeable buffers a frame may need more buffers than are there: the device does not
 * take it, and the thread holds it, polls the eventfd alone, and offers it again when the guest has posted more.
 *
 * <p>A TAP deleted while the VM runs ({@code ip link del}) fails every write (EBADFD) and reports an error to every
 * poll after it; the poll that is under way when it goes may sleep on (Linux wakes it only for readiness it asked
 * for, and before the TAP is detached). Whichever notices first, a transmit or the receive thread at its next look
 * (the guest's next frame or receive buffers), says so in one line; the receive thread ends, and the guest goes on
 * without a network (its frames are dropped), as when passt dies ({@link PasstNetwork}).
 */
final class TapNetwork implements HostNetwork {
    /** struct pollfd (poll(2)): int fd, short events, short revents; the event bits of asm-generic/poll.h. */
    static final long POLLFD_SIZE = 8;
    static final short POLLIN = 0x1;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;

    private final TapDevice tap;
    private final EventFd wakeups = new EventFd();
    private final Arena arena = Arena.ofShared();
    /** A frame and its virtio-net header (the TAP carries offloads: {@link #offloads()}). */
    private final MemorySegment transmitBuffer = arena.allocate(VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME);
    /**
     * Room for the largest frame the device takes and some more: a frame from the host that fills the buffer may
     * have been cut short by the kernel (a VLAN-tagged 64 KiB segment), and is dropped rather than delivered.
     */
    static final int RECEIVE_CAPACITY = VirtioNet.HEADER_SIZE + VirtioNet.MAX_FRAME + 64;
    private final MemorySegment receiveBuffer = arena.allocate(RECEIVE_CAPACITY);
    private final byte[] receiveBytes = new byte[RECEIVE_CAPACITY];
    private final java.util.concurrent.atomic.LongAdder wakeupCount = new java.util.concurrent.atomic.LongAdder();
    /** struct pollfd[2]: the TAP, then the wake-up eventfd. */
    private final MemorySegment pollFds = arena.allocate(2 * POLLFD_SIZE, 4);
    private final MemorySegment wakeupCounter = arena.allocate(ValueLayout.JAVA_LONG);
    private final Consumer<String> warnings;
    private final java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
    private Thread thread;
    private volatile boolean stopping;

    private TapNetwork(TapDevice tap, Consumer<String> warnings) {
        this.tap = tap;
        this.warnings = warnings;
    }

    /**
     * Attaches to TAP {@code name}, or fails with one line saying why and what to do.
     *
     * @param warnings where the line goes if the TAP fails while the VM runs
     * @throws VmmException when /dev/net/tun is missing, the TAP does not exist and this process may not create it,
     *         it belongs to someone else, or another process has it open
     */
    static TapNetwork open(String name, Consumer<String> warnings) {
        try {
            TapDevice tap = TapDevice.open(name, true);
            try {
                // A TAP left with offloads on (an earlier run that crashed) would hand over segments before the
                // driver has said it takes them: none until it does (offloadsAccepted).
                tap.setOffload(0);
            } catch (NativeCallException e) {
                tap.close();
                throw e;
            }
            return new TapNetwork(tap, warnings);
        } catch (NativeCallException e) {
            throw new VmmException(openFailure(name, e), e);
        }
    }

    /** The one-line message for a failed open of TAP {@code name}. */
    static String openFailure(String name, NativeCallException e) {
        String prefix = "--net tap=" + name + ": ";
        if (e.call().startsWith("open(")) {
            return e.errno() == Errno.ENOENT
                    ? prefix + TapDevice.TUN_PATH + " does not exist (no TUN/TAP in this kernel: modprobe tun)"
                    : prefix + "cannot open " + TapDevice.TUN_PATH + ": " + e.getMessage();
        }
        return switch (e.errno()) {
            case Errno.EPERM -> prefix + "no TAP of that name that this user may use, and creating one needs "
                    + "CAP_NET_ADMIN; create it first: ip tuntap add " + name + " mode tap user $(id -un)";
            case Errno.EBUSY -> prefix + "the TAP is in use by another process (one VM per TAP)";
            case Errno.EINVAL -> prefix + "an interface of that name exists but is not a single-queue TAP";
            default -> prefix + e.getMessage();
        };
    }

    /** Starts the receive thread; an error of its own (not the TAP's) ends the VM ({@code failed}). */
    @Override
    public void start(VirtioNet device, Object lock, Consumer<Throwable> failed) {
        thread = Thread.ofPlatform().name("net-rx-" + tap.name()).daemon().start(() -> {
            try {
                receiveLoop(device, lock);
            } catch (Throwable e) {
                failed.accept(e);
            }
        });
    }

    @Override
    public void wake() {
        wakeups.signal();
    }

    @Override
    public long wakeups() {
        return wakeupCount.sum();
    }

    /** The eventfd poll(2) watches beside the TAP: the receive queue's ioeventfd goes straight to it. */
    @Override
    public int receiveNotificationFd() {
        return wakeups.fd();
    }

    @Override
    public void transmit(byte[] frame, int offset, int length) throws IOException {
        MemorySegment.copy(frame, offset, transmitBuffer, ValueLayout.JAVA_BYTE, 0, length);
        long written = tap.write(transmitBuffer.asSlice(0, length));
        if (written < 0) {
            String why = "write: " + Libc.strerror((int) -written);
            if (written == -EBADFD) {
                tapGone(why);
            }
            throw new IOException(why + " (errno " + -written + ")");
        }
    }

    @Override
    public String name() {
        return "tap " + tap.name();
    }

    /**
     * Everything a TAP opened with virtio-net headers can carry: the host's stack finishes partial checksums and
     * segments what the guest sends, and (once {@link #offloadsAccepted} allows it) hands over frames with partial
     * checksums and TCP segments of up to 64 KiB, as QEMU's TAP backend does by default.
     */
    @Override
    public long offloads() {
        return VirtioNet.OFFLOADS;
    }

    /** TUNSETOFFLOAD with the receive offloads the guest's driver accepted (GUEST_CSUM, GUEST_TSO4/6). */
    @Override
    public void offloadsAccepted(long features) throws IOException {
        int flags = 0;
        if ((features & VirtioNet.F_GUEST_CSUM) != 0) {
            flags |= TapDevice.TUN_F_CSUM;
            flags |= (features & VirtioNet.F_GUEST_TSO4) != 0 ? TapDevice.TUN_F_TSO4 : 0;
            flags |= (features & VirtioNet.F_GUEST_TSO6) != 0 ? TapDevice.TUN_F_TSO6 : 0;
        }
        try {
            tap.setOffload(flags);
        } catch (NativeCallException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The length of a frame read from the TAP and not taken yet (it waits in receiveBytes), or -1. */
    private int heldLength = -1;

    private void receiveLoop(VirtioNet device, Object lock) {
        pollFds.set(ValueLayout.JAVA_INT, 0, tap.fd());
        pollFds.set(ValueLayout.JAVA_INT, POLLFD_SIZE, wakeups.fd());
        pollFds.set(ValueLayout.JAVA_SHORT, POLLFD_SIZE + 4, POLLIN);
        while (!stopping) {
            boolean ready;
            synchronized (lock) {
                // A frame the guest had too few buffers for (mergeable buffers) goes first, once it has more.
                if (heldLength >= 0 && device.receiveInBurst(receiveBytes, heldLength)) {
                    heldLength = -1;
                    device.endBurst();
                }
                ready = heldLength < 0 && device.canReceive();
            }
            // Without a buffer the TAP's entry asks for no events (its revents can still report an error).
            pollFds.set(ValueLayout.JAVA_SHORT, 4, ready ? POLLIN : 0);
            int result = Libc.pollOrErrno(pollFds, 2, -1);
            if (result == -Errno.EINTR) {
                continue;
            }
            if (result < 0) {
                throw new NativeCallException("poll(" + tap.name() + ")", -result);
            }
            if ((pollFds.get(ValueLayout.JAVA_SHORT, POLLFD_SIZE + 6) & POLLIN) != 0) {
                Libc.readOrErrno(this.wakeups.fd(), wakeupCounter); // resets the counter; the loop re-checks everything
                wakeupCount.increment();
            }
            short tapEvents = pollFds.get(ValueLayout.JAVA_SHORT, 6);
            // An error or hang-up (the interface was deleted) would be reported on every poll: stop polling.
            if ((tapEvents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
                tapGone("poll events 0x" + Integer.toHexString(tapEvents));
                return;
            }
            if (ready && (tapEvents & POLLIN) != 0) {
                String readError = receiveBurst(device, lock);
                if (readError != null) {
                    tapGone(readError);
                    return;
                }
            }
        }
    }

    /** EBADFD (asm-generic/errno.h): a TAP's descriptor once its interface is gone. */
    static final int EBADFD = 77;

    /** The TAP failed while the VM runs: one line (once), and the guest goes on without a network. */
    private void tapGone(String how) {
        if (!stopping && gone.compareAndSet(false, true)) {
            warnings.accept("--net tap=" + tap.name() + ": the TAP failed (" + how + "; deleted?); the guest's "
                    + "network is down, the VM goes on");
        }
    }

    /** Most frames delivered per wake-up before the driver is notified, so a flood cannot starve its interrupt. */
    static final int BURST = 64;

    /**
     * Reads and delivers frames (the TAP said at least one is waiting) until the TAP is empty, the guest has no
     * buffer left or {@link #BURST} frames went in, then notifies the driver once for all of them. Returns null, or
     * what a failed read said (the TAP is gone).
     */
    private String receiveBurst(VirtioNet device, Object lock) {
        try {
            for (int n = 0; n < BURST; n++) {
                if (n > 0) {
                    synchronized (lock) {
                        if (!device.canReceive()) {
                            return null;
                        }
                    }
                }
                long length = tap.read(receiveBuffer);
                if (length == -Errno.EAGAIN || length == -Errno.EINTR || length == 0) {
                    return null;
                }
                if (length < 0) {
                    return "read: " + Libc.strerror((int) -length);
                }
                if (length >= RECEIVE_CAPACITY) {
                    continue; // cut short by the kernel: not a frame the guest can use, so it is dropped
                }
                MemorySegment.copy(receiveBuffer, ValueLayout.JAVA_BYTE, 0, receiveBytes, 0, (int) length);
                synchronized (lock) {
                    if (!device.receiveInBurst(receiveBytes, (int) length)) {
                        heldLength = (int) length; // the receive queue's notification wakes this thread for it
                        return null;
                    }
                }
            }
            return null;
        } finally {
            synchronized (lock) {
                device.endBurst();
            }
        }
    }

    /** Stops the receive thread, waits for it, and detaches from the TAP. */
    @Override
    public void close() {
        stopping = true;
        if (thread != null && thread.isAlive()) {
            wakeups.signal();
            Joins.joinUninterruptibly(thread);
        }
        wakeups.close();
        tap.close();
        arena.close();
    }
}
