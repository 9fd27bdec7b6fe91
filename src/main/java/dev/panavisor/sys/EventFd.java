package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An eventfd (eventfd(2)): a kernel counter with a file descriptor. A write adds to the counter; a read blocks
 * until it is non-zero, returns it and sets it back to zero. KVM signals one on a guest's notification write
 * (KVM_IOEVENTFD), and injects an interrupt when one is written (KVM_IRQFD); a device worker blocks reading one.
 *
 * <p>{@link #signal()} and {@link #await()} may be called from different threads; one thread awaits at a time.
 */
public final class EventFd implements AutoCloseable {
    private final int fd;
    /**
     * Eight-byte buffers for the counter, one for each direction so a waiter and a signaller never share one. In an
     * automatic arena, freed with this object: closing a shared arena is a handshake with every Java thread, which a
     * VM's teardown paid once per eventfd (docs/performance.md, "The VM's teardown").
     */
    private final MemorySegment readBuffer;
    private final MemorySegment writeBuffer;
    private volatile boolean closed;

    public EventFd() {
        Arena arena = Arena.ofAuto();
        this.readBuffer = arena.allocate(ValueLayout.JAVA_LONG);
        this.writeBuffer = arena.allocate(ValueLayout.JAVA_LONG);
        this.fd = Libc.eventfd(0, 0);
    }

    public int fd() {
        return fd;
    }

    /** Adds 1 to the counter, waking a reader. */
    public synchronized void signal() {
        requireOpen(); // its number may be another file's by now
        writeBuffer.set(ValueLayout.JAVA_LONG, 0, 1L);
        long result = Libc.writeOrErrno(fd, writeBuffer);
        if (result < 0) {
            throw new NativeCallException("write(eventfd)", (int) -result);
        }
    }

    /** Blocks until the counter is non-zero; returns it (how many signals were merged) and resets it to zero. */
    public long await() {
        requireOpen();
        while (true) {
            long result = Libc.readOrErrno(fd, readBuffer);
            if (result == 8) {
                return readBuffer.get(ValueLayout.JAVA_LONG, 0);
            }
            if (result != -Errno.EINTR) {
                throw new NativeCallException("read(eventfd)", (int) -result);
            }
        }
    }

    /** Closes the descriptor. Only once no thread is blocked in {@link #await()} or about to call it. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("eventfd " + fd + " is closed");
        }
    }
}
