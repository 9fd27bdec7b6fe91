package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The JVM's specialization of a method handle, made to happen where it costs nothing.
 *
 * <p>java.lang.invoke rewrites a method handle's code for that handle alone ({@code MethodHandle.customize}) once
 * it has been called {@value #THRESHOLD} times from a site where it is not a constant, and {@link Libc}'s and
 * {@link PositionalIo}'s calls are such sites (the handle is an argument). The rewrite generates classes, 10-100 ms
 * of them inside the nested lab, on whichever thread makes the threshold's call: for {@code ioctl} the vCPU thread
 * during the guest's first exits, for {@code pwritev} a disk's worker at a guest write's 127th request
 * (docs/performance.md, "Classes generated on the disk's worker"). Calls that change nothing, made here
 * {@value #CALLS} times each, get it done on a thread that has time for it: {@link Libc#linkAhead} for
 * {@code ioctl} at start-up, the devices' warm-up thread for the rest once the guest has booted.
 */
public final class HandleCustomization {
    /** java.lang.invoke's threshold (MethodHandleStatics.CUSTOMIZE_THRESHOLD, 127 by default). */
    static final int THRESHOLD = 127;
    /** More calls than {@link #THRESHOLD}. */
    static final int CALLS = THRESHOLD + 3;

    private HandleCustomization() {
    }

    /**
     * {@code read} and {@code write} on descriptor -1 (EBADF) and {@code poll} of no descriptors without waiting:
     * every device worker and receive thread goes through these (eventfd kicks, irqfd interrupts, a TAP's frames).
     */
    public static void workersAhead() {
        for (int i = 0; i < CALLS; i++) {
            Libc.readOrErrno(-1, MemorySegment.NULL);
            Libc.writeOrErrno(-1, MemorySegment.NULL);
            Libc.pollOrErrno(MemorySegment.NULL, 0, 0);
        }
    }

    /** {@code preadv} and {@code pwritev} on descriptor -1, EBADF before the kernel reads the (empty) iovec: disks. */
    public static void disksAhead() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment empty = arena.allocate(PositionalIo.IOVEC_BYTES, 8); // one iovec of no bytes
            for (int i = 0; i < CALLS; i++) {
                PositionalIo.preadvOrErrno(-1, empty, 1, 0);
                PositionalIo.pwritevOrErrno(-1, empty, 1, 0);
            }
        }
    }
}
