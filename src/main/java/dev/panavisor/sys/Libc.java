package dev.panavisor.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;

/**
 * The libc functions Panavisor needs, as Panama FFM downcalls; with {@link PositionalIo}, all the native code linked.
 *
 * <p>Every handle is linked once, with {@code Linker.Option.captureCallState("errno")}: errno is read from a
 * per-thread capture segment right after the call, before any other native code can overwrite it. Variadic C
 * functions ({@code ioctl(int, unsigned long, ...)}, {@code open(const char *, int, ...)}) must be linked with
 * {@code firstVariadicArg} so the x86-64 ABI passes the variadic argument correctly (System V ABI §3.5.7: the
 * caller sets %al to the number of vector registers used).
 *
 * <p>Two flavours of call: the plain ones throw {@link NativeCallException}; the {@code ...OrErrno} ones return
 * {@code -errno} on failure, for hot paths (KVM_RUN) where an EINTR is expected and must not allocate.
 */
public final class Libc {
    private Libc() {
    }

    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_NONBLOCK = 0x800;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno")).withInvokeExactBehavior();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /*
     * The downcall handles, in holder classes that the JVM initializes on first use (JLS §12.4.1), so a run links
     * only what it calls: a command-mode boot never links the terminal's functions, nor strerror unless a call
     * fails. Linking is not free: each function-descriptor shape the linker has not seen yet costs a generated
     * class and a stub, so calls share shapes where the ABI allows (one ioctl shape for values and pointers,
     * pthread_sigmask linked like sigaction). docs/performance.md, "Start-up", has the figures.
     */

    /** File descriptors: open, close, read, write, ioctl, eventfd; every VM needs them. */
    private static final class Io {
        static final MethodHandle OPEN = link("open",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
        static final MethodHandle CLOSE = link("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        /** ioctl(fd, request, arg): arg is a value or, for the pointer form, a native segment's address. */
        static final MethodHandle IOCTL = link("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
        static final MethodHandle EVENTFD = link("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle READ = link("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle WRITE = link("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        /** The TAP backend's wait; madvise's shape, which every VM links anyway, so it costs no new stub. */
        static final MethodHandle POLL = link("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    }

    /** Guest memory and KVM's shared run structures. */
    private static final class Mappings {
        static final MethodHandle MMAP = link("mmap",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle MUNMAP = link("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle MADVISE = link("madvise",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    }

    /** The vCPU kick: threads and signals. */
    private static final class Signals {
        static final MethodHandle PTHREAD_SELF = LINKER.downcallHandle(
                LIBC.find("pthread_self").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        /** pthread_kill and pthread_sigmask return an error number instead of setting errno. */
        static final MethodHandle PTHREAD_KILL = LINKER.downcallHandle(
                LIBC.find("pthread_kill").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        /** Linked with sigaction's shape (errno captured, then ignored): one stub for both. */
        static final MethodHandle PTHREAD_SIGMASK = link("pthread_sigmask",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle SIGACTION = link("sigaction",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle SIGTIMEDWAIT = link("sigtimedwait",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    }

    /** The host terminal, for an interactive console only. */
    private static final class Terminal {
        static final MethodHandle ISATTY = LINKER.downcallHandle(
                LIBC.find("isatty").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle TCGETATTR = link("tcgetattr", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle TCSETATTR = link("tcsetattr",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle CFMAKERAW = LINKER.downcallHandle(
                LIBC.find("cfmakeraw").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** Confinement after set-up (prctl, seccomp): once per run, so linked only then. */
    private static final class Confinement {
        /** prctl(int option, ...) and syscall(long number, ...) are variadic; every argument as a long. */
        static final MethodHandle PRCTL = link("prctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
        static final MethodHandle SYSCALL3 = link("syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    /** Error messages, when a call has failed. */
    private static final class Errors {
        static final MethodHandle STRERROR = LINKER.downcallHandle(
                LIBC.find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** One capture segment per thread, so that calls never allocate and threads never share errno. */
    static final ThreadLocal<MemorySegment> CALL_STATE_SEGMENT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private static final MemorySegment MAP_FAILED = MemorySegment.ofAddress(-1L);

    static MethodHandle link(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = CAPTURE_ERRNO;
        System.arraycopy(extra, 0, options, 1, extra.length);
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /**
     * A pointer argument as the integer the C ABI passes it in (x86-64 System V: both in a general-purpose
     * register). Only native memory has an address the kernel can use; a heap segment's address() is an offset.
     */
    private static long nativeAddress(MemorySegment arg) {
        if (!arg.isNative()) {
            throw new IllegalArgumentException("ioctl needs native memory, not a heap segment");
        }
        return arg.address();
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** Opens {@code path} with {@code flags} (O_CLOEXEC is always added). */
    public static int open(String path, int flags) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) Io.OPEN.invokeExact(state, arena.allocateFrom(path), flags | O_CLOEXEC, 0);
            if (fd < 0) {
                throw new NativeCallException("open(" + path + ")", errno(state));
            }
            return fd;
        } catch (NativeCallException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("open downcall failed", t);
        }
    }

    public static void close(int fd) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Io.CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw new AssertionError("close downcall failed", t);
        }
        if (result < 0) {
            throw new NativeCallException("close(" + fd + ")", errno(state));
        }
    }

    /** {@code ioctl(fd, request, value)} with the argument passed by value; returns the (non-negative) result. */
    public static int ioctl(int fd, long request, long value, String name) {
        int result = ioctlOrErrno(fd, request, value);
        if (result < 0) {
            throw new NativeCallException("ioctl(" + name + ")", -result);
        }
        return result;
    }

    /** {@code ioctl(fd, request, &struct)}: the argument is a pointer to {@code arg}. */
    public static int ioctl(int fd, long request, MemorySegment arg, String name) {
        int result = ioctlOrErrno(fd, request, arg);
        if (result < 0) {
            throw new NativeCallException("ioctl(" + name + ")", -result);
        }
        return result;
    }

    /** Like {@link #ioctl(int, long, long, String)} but returns {@code -errno} instead of throwing. */
    public static int ioctlOrErrno(int fd, long request, long value) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Io.IOCTL.invokeExact(state, fd, request, value);
        } catch (Throwable t) {
            throw new AssertionError("ioctl downcall failed", t);
        }
        return result < 0 ? -errno(state) : result;
    }

    /** Like {@link #ioctl(int, long, MemorySegment, String)} but returns {@code -errno} instead of throwing. */
    public static int ioctlOrErrno(int fd, long request, MemorySegment arg) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Io.IOCTL.invokeExact(state, fd, request, nativeAddress(arg));
        } catch (Throwable t) {
            throw new AssertionError("ioctl downcall failed", t);
        } finally {
            // Passed as a number, the segment is not kept alive by the call the way an ADDRESS argument is: an
            // automatic arena's memory must not be freed while the kernel reads or writes it.
            Reference.reachabilityFence(arg);
        }
        return result < 0 ? -errno(state) : result;
    }

    /**
     * Maps {@code length} bytes and returns them as a segment of that size. The segment is not tied to an arena:
     * the caller unmaps it with {@link #munmap(MemorySegment)}.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, String what) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        MemorySegment address;
        try {
            address = (MemorySegment) Mappings.MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw new AssertionError("mmap downcall failed", t);
        }
        if (address.equals(MAP_FAILED)) {
            throw new NativeCallException("mmap(" + what + ", " + length + " bytes)", errno(state));
        }
        return address.reinterpret(length);
    }

    public static void munmap(MemorySegment mapping) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Mappings.MUNMAP.invokeExact(state, mapping, mapping.byteSize());
        } catch (Throwable t) {
            throw new AssertionError("munmap downcall failed", t);
        }
        if (result < 0) {
            throw new NativeCallException("munmap", errno(state));
        }
    }

    /** madvise(2) MADV_HUGEPAGE: back this range with transparent huge pages where the kernel can. */
    public static final int MADV_HUGEPAGE = 14;

    /**
     * Gives the kernel advice about a mapping (madvise(2)). Advice is not a promise: returns 0 or {@code -errno}
     * (EINVAL when the kernel was built without transparent huge pages, for example) for the caller to ignore.
     */
    public static int madvise(MemorySegment range, int advice) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Mappings.MADVISE.invokeExact(state, range, range.byteSize(), advice);
        } catch (Throwable t) {
            throw new AssertionError("madvise downcall failed", t);
        }
        return result < 0 ? -errno(state) : result;
    }

    /** A new eventfd (EFD_CLOEXEC is always added). */
    public static int eventfd(int initialValue, int flags) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int fd;
        try {
            fd = (int) Io.EVENTFD.invokeExact(state, initialValue, flags | EFD_CLOEXEC);
        } catch (Throwable t) {
            throw new AssertionError("eventfd downcall failed", t);
        }
        if (fd < 0) {
            throw new NativeCallException("eventfd", errno(state));
        }
        return fd;
    }

    /** {@code read(fd, buffer, buffer.byteSize())}; returns bytes read, or {@code -errno}. */
    public static long readOrErrno(int fd, MemorySegment buffer) {
        return transfer(Io.READ, fd, buffer);
    }

    /** {@code write(fd, buffer, buffer.byteSize())}; returns bytes written, or {@code -errno}. */
    public static long writeOrErrno(int fd, MemorySegment buffer) {
        return transfer(Io.WRITE, fd, buffer);
    }

    /** read and write share one shape: (fd, buffer, count) -> ssize_t. */
    private static long transfer(MethodHandle call, int fd, MemorySegment buffer) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        try {
            long result = (long) call.invokeExact(state, fd, buffer, buffer.byteSize());
            return result < 0 ? -errno(state) : result;
        } catch (Throwable t) {
            throw new AssertionError("read/write downcall failed", t);
        }
    }

    /** {@code poll(fds, count, timeout)} over struct pollfd[count]; returns how many have events, or {@code -errno}. */
    public static int pollOrErrno(MemorySegment fds, int count, int timeoutMillis) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        try {
            int result = (int) Io.POLL.invokeExact(state, fds, (long) count, timeoutMillis);
            return result < 0 ? -errno(state) : result;
        } catch (Throwable t) {
            throw new AssertionError("poll downcall failed", t);
        }
    }

    /** sizeof(sigset_t) in glibc on x86-64 (1024 signal bits; the kernel uses the first 64). */
    public static final long SIGSET_SIZE = 128;
    /** sizeof(struct sigaction) in glibc on x86-64: handler, sa_mask, sa_flags (+4 padding), sa_restorer. */
    public static final long SIGACTION_SIZE = 8 + SIGSET_SIZE + 8 + 8;
    public static final long SIGACTION_MASK_OFFSET = 8;
    public static final long SIGACTION_FLAGS_OFFSET = 8 + SIGSET_SIZE;
    public static final int SIG_BLOCK = 0;

    /**
     * The address of libc's {@code getpid}: a function that has no effect, takes no locks and is async-signal-safe,
     * for use as a signal handler that must exist but do nothing ({@link KickSignal}). Called as
     * {@code handler(int)}, it ignores the argument (System V x86-64 ABI: arguments in registers).
     */
    static MemorySegment harmlessFunction() {
        return LIBC.find("getpid").orElseThrow();
    }

    /** The calling thread's pthread_t. */
    public static long pthreadSelf() {
        try {
            return (long) Signals.PTHREAD_SELF.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError("pthread_self downcall failed", t);
        }
    }

    /** pthread_kill: sends {@code signal} to one thread of this process. */
    public static void pthreadKill(long thread, int signal) {
        int error;
        try {
            error = (int) Signals.PTHREAD_KILL.invokeExact(thread, signal);
        } catch (Throwable t) {
            throw new AssertionError("pthread_kill downcall failed", t);
        }
        if (error != 0) {
            throw new NativeCallException("pthread_kill(" + signal + ")", error);
        }
    }

    /** pthread_sigmask on the calling thread; {@code set} and {@code old} are sigset_t or NULL. */
    public static void pthreadSigmask(int how, MemorySegment set, MemorySegment old) {
        int error;
        try {
            error = (int) Signals.PTHREAD_SIGMASK.invokeExact(CALL_STATE_SEGMENT.get(), how, set, old);
        } catch (Throwable t) {
            throw new AssertionError("pthread_sigmask downcall failed", t);
        }
        if (error != 0) {
            throw new NativeCallException("pthread_sigmask", error);
        }
    }

    /** sigaction(signal, action, NULL): installs {@code action} (a struct sigaction of {@link #SIGACTION_SIZE}). */
    public static void sigaction(int signal, MemorySegment action) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Signals.SIGACTION.invokeExact(state, signal, action, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new AssertionError("sigaction downcall failed", t);
        }
        if (result < 0) {
            throw new NativeCallException("sigaction(" + signal + ")", errno(state));
        }
    }

    /**
     * sigtimedwait(set, NULL, timeout): takes one pending signal of {@code set} off the calling thread; returns its
     * number, or {@code -errno} (EAGAIN: none was pending within the timeout).
     */
    public static int sigtimedwaitOrErrno(MemorySegment set, MemorySegment timeout) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Signals.SIGTIMEDWAIT.invokeExact(state, set, MemorySegment.NULL, timeout);
        } catch (Throwable t) {
            throw new AssertionError("sigtimedwait downcall failed", t);
        }
        return result < 0 ? -errno(state) : result;
    }

    /** prctl(option, arg2, 0, 0, 0) (man prctl(2)); returns the result, throws on -1. */
    public static int prctl(int option, long arg2) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Confinement.PRCTL.invokeExact(state, option, arg2, 0L, 0L, 0L);
        } catch (Throwable t) {
            throw new AssertionError("prctl downcall failed", t);
        }
        if (result < 0) {
            throw new NativeCallException("prctl(" + option + ")", errno(state));
        }
        return result;
    }

    /**
     * syscall(number, a, b, c) for a call glibc has no wrapper for (seccomp, man seccomp(2)); returns the result
     * or {@code -errno}. {@code c} is a native segment's address.
     */
    public static long syscallOrErrno(long number, long a, long b, MemorySegment c) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        long result;
        try {
            result = (long) Confinement.SYSCALL3.invokeExact(state, number, a, b, nativeAddress(c));
        } catch (Throwable t) {
            throw new AssertionError("syscall downcall failed", t);
        }
        return result < 0 ? -errno(state) : result;
    }

    /** sizeof(struct termios) in glibc on x86-64; termios is treated as an opaque blob. */
    public static final long TERMIOS_SIZE = 60;
    /** tcsetattr: apply after output drains, discarding pending input (termios.h). */
    public static final int TCSAFLUSH = 2;

    public static boolean isatty(int fd) {
        try {
            return (int) Terminal.ISATTY.invokeExact(fd) == 1;
        } catch (Throwable t) {
            throw new AssertionError("isatty downcall failed", t);
        }
    }

    /** tcgetattr into {@code termios} (at least {@link #TERMIOS_SIZE} bytes). */
    public static void tcgetattr(int fd, MemorySegment termios) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Terminal.TCGETATTR.invokeExact(state, fd, termios);
        } catch (Throwable t) {
            throw new AssertionError("tcgetattr downcall failed", t);
        }
        if (result < 0) {
            throw new NativeCallException("tcgetattr(" + fd + ")", errno(state));
        }
    }

    public static void tcsetattr(int fd, int when, MemorySegment termios) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) Terminal.TCSETATTR.invokeExact(state, fd, when, termios);
        } catch (Throwable t) {
            throw new AssertionError("tcsetattr downcall failed", t);
        }
        if (result < 0) {
            throw new NativeCallException("tcsetattr(" + fd + ")", errno(state));
        }
    }

    /** cfmakeraw: no echo, no line editing, no signals from keys, 8-bit characters. */
    public static void cfmakeraw(MemorySegment termios) {
        try {
            Terminal.CFMAKERAW.invokeExact(termios);
        } catch (Throwable t) {
            throw new AssertionError("cfmakeraw downcall failed", t);
        }
    }

    /** The C library's text for {@code errno}, e.g. "Permission denied". */
    public static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) Errors.STRERROR.invokeExact(errno);
            return text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
