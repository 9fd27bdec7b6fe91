package dev.panavisor.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Reference;
import java.util.function.BooleanSupplier;

/**
 * {@code preadv(2)} and {@code pwritev(2)}: one system call moves a list of buffers at a file offset, without the
 * file's position (so several threads may use one descriptor at once, with no lock), which the JDK's
 * {@code FileChannel} cannot do (its scattering reads use the channel's position, which must then be set with
 * {@code lseek} under a lock). The virtio-blk file backend uses them for a request's data segments.
 *
 * <p>The argument is an array of {@code struct iovec { void *iov_base; size_t iov_len; }} (16 bytes each on
 * x86-64) in native memory, at most {@link #IOV_MAX} of them. Both calls, {@code (int, const struct iovec *, int,
 * off_t) -> ssize_t}, are linked on first use with {@link Libc}'s one call shape, so they cost no stub of their
 * own.
 */
public final class PositionalIo {
    private PositionalIo() {
    }

    /** The most iovecs one call takes (Linux's UIO_MAXIOV). */
    public static final int IOV_MAX = 1024;
    /** sizeof(struct iovec). */
    public static final long IOVEC_BYTES = 16;

    private static final class Calls {
        static final MethodHandle PREADV = Libc.link("preadv");
        static final MethodHandle PWRITEV = Libc.link("pwritev");
    }

    /** Writes iovec {@code index} of {@code iovecs}: the buffer at native {@code address}, {@code length} bytes. */
    public static void setIovec(MemorySegment iovecs, int index, long address, long length) {
        iovecs.set(JAVA_LONG, index * IOVEC_BYTES, address);
        iovecs.set(JAVA_LONG, index * IOVEC_BYTES + 8, length);
    }

    /** {@code preadv(fd, iovecs, count, offset)}: bytes read (0 at end of file), or {@code -errno}. */
    public static long preadvOrErrno(int fd, MemorySegment iovecs, int count, long offset) {
        return call(Calls.PREADV, fd, iovecs, count, offset);
    }

    /** {@code pwritev(fd, iovecs, count, offset)}: bytes written, or {@code -errno}. */
    public static long pwritevOrErrno(int fd, MemorySegment iovecs, int count, long offset) {
        return call(Calls.PWRITEV, fd, iovecs, count, offset);
    }

    /**
     * Each thread's own iovec array, {@link #IOV_MAX} entries (16 KiB), made at its first transfer and freed once the
     * thread is gone: a request's iovecs then cost no allocation (an arena per request was a tenth of the device
     * model's time for a 1 MiB read with the lab's C1-only JIT; docs/performance.md, "The request path in Java").
     */
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(IOV_MAX * IOVEC_BYTES, 8));

    /**
     * Room for {@code count} iovecs: the calling thread's own array, valid until its next call here, or for more
     * than {@link #IOV_MAX} a new one that the garbage collector frees.
     */
    public static MemorySegment iovecs(int count) {
        return count <= IOV_MAX ? SCRATCH.get() : Arena.ofAuto().allocate(count * IOVEC_BYTES, 8);
    }

    /**
     * The most bytes one call moves. A guest's request is normally at most a few MiB, but a hostile driver's can
     * reach hundreds of GiB (a thousand descriptors over the same guest memory, on a disk that large), and one such
     * read took 72 s on this project's machine (docs/security.md); in calls of this size, {@code stop} is asked
     * often enough for a VM's end to wait a few milliseconds for it, not minutes.
     */
    public static final long CALL_BYTES_MAX = 16 << 20;

    /**
     * Reads ({@code write} false) or writes the {@code bytes} bytes that the {@code count} iovecs describe, from
     * {@code offset} on, in calls of at most {@link #CALL_BYTES_MAX} bytes and {@link #IOV_MAX} iovecs: the call is
     * repeated after a short transfer (a signal, a pipe-sized chunk) with the iovecs advanced past what moved (which
     * changes them), and after EINTR. A transfer that moves everything in one call leaves the iovecs as they were.
     * Before each call it asks {@code stop}. Returns the bytes moved: all of them, or fewer when a read reached the
     * end of the file or {@code stop} said so.
     *
     * @throws NativeCallException when a call fails
     */
    public static long transferFully(int fd, MemorySegment iovecs, int count, long bytes, long offset, boolean write,
            BooleanSupplier stop) {
        long total = 0;
        int first = 0;
        while (total < bytes && first < count) {
            long length = iovecs.get(JAVA_LONG, first * IOVEC_BYTES + 8);
            if (length == 0) {
                first++;
                continue;
            }
            if (stop.getAsBoolean()) {
                return total;
            }
            // This call's iovecs: up to IOV_MAX of them and CALL_BYTES_MAX bytes, the last one cut short if need be
            // (and put back after the call). What is left of a usual request fits in one call, uncounted.
            int n = Math.min(count - first, IOV_MAX);
            long callBytes = bytes - total;
            if (callBytes > CALL_BYTES_MAX) {
                n = 1;
                callBytes = length;
                while (n < count - first && n < IOV_MAX && callBytes < CALL_BYTES_MAX) {
                    callBytes += iovecs.get(JAVA_LONG, (first + n) * IOVEC_BYTES + 8);
                    n++;
                }
            }
            long cut = callBytes - CALL_BYTES_MAX;
            long lastAt = (first + n - 1) * IOVEC_BYTES + 8;
            long lastLength = cut > 0 ? iovecs.get(JAVA_LONG, lastAt) : 0;
            if (cut > 0) {
                iovecs.set(JAVA_LONG, lastAt, lastLength - cut);
            }
            MemorySegment rest = iovecs.asSlice(first * IOVEC_BYTES);
            long at = offset + total;
            long moved = write ? pwritevOrErrno(fd, rest, n, at) : preadvOrErrno(fd, rest, n, at);
            if (cut > 0) {
                iovecs.set(JAVA_LONG, lastAt, lastLength);
            }
            if (moved == -Errno.EINTR) {
                continue;
            }
            if (moved < 0) {
                throw new NativeCallException(write ? "pwritev" : "preadv", (int) -moved);
            }
            if (moved == 0) {
                return total; // end of file (a read), or a write that cannot make progress
            }
            total += moved;
            if (total < bytes) {
                first = advance(iovecs, first, count, moved);
            }
        }
        return total;
    }

    /** Drops {@code moved} bytes from the front of iovecs {@code first..count-1}; returns the first one not done. */
    private static int advance(MemorySegment iovecs, int first, int count, long moved) {
        while (moved > 0 && first < count) {
            long at = first * IOVEC_BYTES;
            long length = iovecs.get(JAVA_LONG, at + 8);
            if (moved >= length) {
                moved -= length;
                iovecs.set(JAVA_LONG, at + 8, 0L);
                first++;
            } else {
                iovecs.set(JAVA_LONG, at, iovecs.get(JAVA_LONG, at) + moved);
                iovecs.set(JAVA_LONG, at + 8, length - moved);
                moved = 0;
            }
        }
        return first;
    }

    private static long call(MethodHandle handle, int fd, MemorySegment iovecs, int count, long offset) {
        if (count < 1 || count > IOV_MAX || iovecs.byteSize() < count * IOVEC_BYTES) {
            throw new IllegalArgumentException(count + " iovecs in " + iovecs.byteSize() + " bytes");
        }
        MemorySegment state = Libc.CALL_STATE_SEGMENT.get();
        try {
            long result = Libc.call(handle, state, fd, Libc.nativeAddress(iovecs), count, offset, 0, 0);
            return result < 0 ? -Libc.errno(state) : result;
        } finally {
            Reference.reachabilityFence(iovecs);
        }
    }
}
