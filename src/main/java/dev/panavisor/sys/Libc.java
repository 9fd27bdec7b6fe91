package dev.panavisor.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Reference;

/**
 * The libc functions Panavisor needs, as Panama FFM downcalls; all the native code linked (with {@link PositionalIo},
 * {@link ProcessSignal} and {@link NativeHeap}, which link theirs here too).
 *
 * <p>Every function is linked once, on first use, with {@code Linker.Option.captureCallState("errno")}: errno is
 * read from a per-thread capture segment right after the call, before any other native code can overwrite it. All
 * share one function descriptor (the comment on {@code SHAPE} says why that is both cheaper and sound), which also
 * makes the variadic ones ({@code ioctl(int, unsigned long, ...)}, {@code open(const char *, int, ...)}) correct:
 * the x86-64 ABI wants %al set to the number of vector registers for them (System V ABI §3.5.7).
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
    /** Where errno lies in the capture segment: read as a plain int (a VarHandle costs a spun class to make). */
    private static final long ERRNO_OFFSET = CALL_STATE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /*
     * One call shape for every function. Linking is not free, and what it costs is per shape, not per function:
     * the first handle of each function descriptor (with its options) costs the linker a generated class and a
     * native stub, and every later handle of the same shape reuses them. On the lab's emulated CPU that was 100-150
     * ms per shape, and a boot used about fourteen (docs/performance.md, "picocli and the FFM linker"). So every
     * libc function here is linked with the same descriptor: six long arguments and a long result, errno
     * captured, variadic after the first argument. This is sound on x86-64 System V, the only ABI Panavisor runs
     * on (KVM's x86 structures are x86-64's), because of three rules of that ABI (§3.2.3, §3.5.7):
     *  - the first six integer or pointer arguments travel in rdi, rsi, rdx, rcx, r8 and r9, whatever their C
     *    type: an int is passed in the low half of its register, a pointer as its address, and a function reads
     *    only the registers of the parameters it has, so the unused ones are ignored;
     *  - the result comes back in rax: an int result is its low 32 bits, hence the (int) casts below;
     *  - a variadic function (open, ioctl, prctl, syscall) needs %al to hold the number of vector registers used,
     *    which the linker sets (to 0) for a handle linked as variadic; a function that is not variadic ignores it.
     * Pointers are passed as a native segment's address (nativeAddress): the segment must then be kept reachable
     * until the call returns, which the callers below do with Reference.reachabilityFence.
     */
    private static final FunctionDescriptor SHAPE = FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final Linker.Option VARIADIC_AFTER_FIRST = Linker.Option.firstVariadicArg(1);

    /*
     * The handles, in holder classes that the JVM initializes on first use (JLS §12.4.1), so a run links only what
     * it calls: a command-mode boot never links the terminal's functions, nor strerror unless a call fails.
     */

    /** File descriptors: open, close, read, write, ioctl, eventfd, poll; every VM needs them. */
    private static final class Io {
        static final MethodHandle OPEN = link("open");
        static final MethodHandle CLOSE = link("close");
        static final MethodHandle IOCTL = link("ioctl");
        static final MethodHandle EVENTFD = link("eventfd");
        static final MethodHandle READ = link("read");
        static final MethodHandle WRITE = link("write");
        static final MethodHandle POLL = link("poll");
    }

    /** Guest memory and KVM's shared run structures. */
    private static final class Mappings {
        static final MethodHandle MMAP = link("mmap");
        static final MethodHandle MUNMAP = link("munmap");
        static final MethodHandle MADVISE = link("madvise");
    }

    /** The vCPU kick: threads and signals. */
    private static final class Signals {
        static final MethodHandle PTHREAD_SELF = link("pthread_self");
        /** pthread_kill and pthread_sigmask return an error number instead of setting errno. */
        static final MethodHandle PTHREAD_KILL = link("pthread_kill");
        static final MethodHandle PTHREAD_SIGMASK = link("pthread_sigmask");
        static final MethodHandle SIGACTION = link("sigaction");
        static final MethodHandle SIGTIMEDWAIT = link("sigtimedwait");
    }

    /** The host terminal, for an interactive console only. */
    private static final class Terminal {
        static final MethodHandle ISATTY = link("isatty");
        static final MethodHandle TCGETATTR = link("tcgetattr");
        static final MethodHandle TCSETATTR = link("tcsetattr");
        static final MethodHandle CFMAKERAW = link("cfmakeraw");
    }

    /** Confinement after set-up (prctl, seccomp): once per run, so linked only then. */
    private static final class Confinement {
        static final MethodHandle PRCTL = link("prctl");
        static final MethodHandle SYSCALL = link("syscall");
    }

    /** Error messages, when a call has failed. */
    private static final class Errors {
        static final MethodHandle STRERROR = link("strerror");
    }

    /** One capture segment per thread, so that calls never allocate and threads never share errno. */
    static final ThreadLocal<MemorySegment> CALL_STATE_SEGMENT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    /** Links libc's {@code name} with the one shape (above); call it with {@link #call}. */
    static MethodHandle link(String name) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, SHAPE, CAPTURE_ERRNO, VARIADIC_AFTER_FIRST);
    }

    /**
     * Calls a handle from {@link #link} with errno captured into {@code state}; arguments past the function's own
     * are passed as 0 and ignored by it. Returns rax: cast to int for a function that returns int.
     */
    static long call(MethodHandle function, MemorySegment state, long a, long b, long c, long d, long e, long f) {
        try {
            return (long) function.invokeExact(state, a, b, c, d, e, f);
        } catch (Throwable t) {
            throw new AssertionError("downcall failed", t);
        }
    }

    static long call(MethodHandle function, MemorySegment state, long a, long b, long c) {
        return call(function, state, a, b, c, 0, 0, 0);
    }

    static long call(MethodHandle function, MemorySegment state, long a, long b) {
        return call(function, state, a, b, 0, 0, 0, 0);
    }

    static long call(MethodHandle function, MemorySegment state, long a) {
        return call(function, state, a, 0, 0, 0, 0, 0);
    }

    /** A pointer argument: a native segment's address (x86-64 System V passes both in a general register). */
    static long nativeAddress(MemorySegment arg) {
        if (!arg.isNative()) {
            throw new IllegalArgumentException("a system call needs native memory, not a heap segment");
        }
        return arg.address();
    }

    static int errno(MemorySegment state) {
        return state.get(JAVA_INT, ERRNO_OFFSET);
    }

    /** Opens {@code path} with {@code flags} (O_CLOEXEC is always added). */
    public static int open(String path, int flags) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) call(Io.OPEN, state, nativeAddress(arena.allocateFrom(path)), flags | O_CLOEXEC, 0);
            if (fd < 0) {
                throw new NativeCallException("open(" + path + ")", errno(state));
            }
            return fd;
        }
    }

    public static void close(int fd) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        if ((int) call(Io.CLOSE, state, fd) < 0) {
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
        int result = (int) call(Io.IOCTL, state, fd, request, value);
        return result < 0 ? -errno(state) : result;
    }

    /** Like {@link #ioctl(int, long, MemorySegment, String)} but returns {@code -errno} instead of throwing. */
    public static int ioctlOrErrno(int fd, long request, MemorySegment arg) {
        try {
            return ioctlOrErrno(fd, request, nativeAddress(arg));
        } finally {
            // Passed as a number, the segment is not kept alive by the call the way an ADDRESS argument is: an
            // automatic arena's memory must not be freed while the kernel reads or writes it.
            Reference.reachabilityFence(arg);
        }
    }

    /**
     * Maps {@code length} bytes and returns them as a segment of that size. The segment is not tied to an arena:
     * the caller unmaps it with {@link #munmap(MemorySegment)}.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, String what) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        long address = call(Mappings.MMAP, state, 0, length, prot, flags, fd, offset);
        if (address == -1) { // MAP_FAILED
            throw new NativeCallException("mmap(" + what + ", " + length + " bytes)", errno(state));
        }
        return MemorySegment.ofAddress(address).reinterpret(length);
    }

    public static void munmap(MemorySegment mapping) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        if ((int) call(Mappings.MUNMAP, state, nativeAddress(mapping), mapping.byteSize()) < 0) {
            throw new NativeCallException("munmap", errno(state));
        }
    }

    /** madvise(2) MADV_HUGEPAGE: back this range with transparent huge pages where the kernel can. */
    public static final int MADV_HUGEPAGE = 14;
    /**
     * madvise(2) MADV_POPULATE_WRITE (Linux 5.14): fault the range in now, writable, as writes would, without writing
     * (pages already there keep their contents). EINVAL from an older kernel.
     */
    public static final int MADV_POPULATE_WRITE = 23;

    /**
     * Gives the kernel advice about a mapping (madvise(2)). Advice is not a promise: returns 0 or {@code -errno}
     * (EINVAL when the kernel was built without transparent huge pages, for example) for the caller to ignore.
     */
    public static int madvise(MemorySegment range, int advice) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result = (int) call(Mappings.MADVISE, state, nativeAddress(range), range.byteSize(), advice);
        return result < 0 ? -errno(state) : result;
    }

    /** A new eventfd (EFD_CLOEXEC is always added). */
    public static int eventfd(int initialValue, int flags) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int fd = (int) call(Io.EVENTFD, state, initialValue, flags | EFD_CLOEXEC);
        if (fd < 0) {
            throw new NativeCallException("eventfd", errno(state));
        }
        return fd;
    }

    /**
     * Links the functions every VM calls (file descriptors, memory mappings, the vCPU kick) and calls through
     * their shared shape in ways that change nothing: {@code read(-1, NULL, 0)} and {@code ioctl(-1, 0, 0)}, which
     * fail with EBADF. A JVM generates the classes behind a downcall at its first link and its first call, and the
     * AOT cache holds none of them: about 30 ms on a host, 0.4 s on the lab's emulated CPU (docs/performance.md,
     * "Classes generated at start"). {@code run} and {@code standby} call this on a thread of their own as the JVM
     * comes up, so that this work overlaps the parsing of the command line; a later call of one of those functions
     * then finds it done (or waits for it). The terminal's, the filter's and strerror's are left to first use.
     */
    public static void linkAhead() {
        readOrErrno(-1, MemorySegment.NULL);
        // The JVM rewrites a method handle's code for that handle alone once it has been called about 127 times
        // from a site where it is not a constant, as call() is (MethodHandle.customize): for ioctl, whose handle
        // every KVM_RUN uses, that happened on the vCPU thread during the guest's first exits (two generated
        // classes). Failing calls (EBADF) get it done here instead.
        for (int i = 0; i < HandleCustomization.CALLS; i++) {
            ioctlOrErrno(-1, 0, 0);
        }
        java.util.Objects.requireNonNull(Mappings.MMAP);
        java.util.Objects.requireNonNull(Signals.PTHREAD_SELF);
        // The memory accesses a vCPU thread makes first, as it binds itself before its first KVM_RUN (KickSignal's
        // handler address, Vcpu.bindToCurrentThread's unaligned mask), on scratch memory: each kind of access makes
        // the JVM generate its accessor classes once.
        MemorySegment scratch = Arena.ofAuto().allocate(16, 8);
        scratch.set(ValueLayout.ADDRESS, 0, harmlessFunction());
        scratch.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, 0L);
        KickSignal.addTo(scratch);
    }

    /** {@code read(fd, buffer, buffer.byteSize())}; returns bytes read, or {@code -errno}. */
    public static long readOrErrno(int fd, MemorySegment buffer) {
        return transfer(Io.READ, fd, buffer);
    }

    /** {@code write(fd, buffer, buffer.byteSize())}; returns bytes written, or {@code -errno}. */
    public static long writeOrErrno(int fd, MemorySegment buffer) {
        return transfer(Io.WRITE, fd, buffer);
    }

    /** read and write: (fd, buffer, count) -> ssize_t. */
    private static long transfer(MethodHandle function, int fd, MemorySegment buffer) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        try {
            long result = call(function, state, fd, nativeAddress(buffer), buffer.byteSize());
            return result < 0 ? -errno(state) : result;
        } finally {
            Reference.reachabilityFence(buffer);
        }
    }

    /** {@code poll(fds, count, timeout)} over struct pollfd[count]; returns how many have events, or {@code -errno}. */
    public static int pollOrErrno(MemorySegment fds, int count, int timeoutMillis) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        try {
            int result = (int) call(Io.POLL, state, nativeAddress(fds), count, timeoutMillis);
            return result < 0 ? -errno(state) : result;
        } finally {
            Reference.reachabilityFence(fds);
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
        return call(Signals.PTHREAD_SELF, CALL_STATE_SEGMENT.get(), 0);
    }

    /** pthread_kill: sends {@code signal} to one thread of this process. */
    public static void pthreadKill(long thread, int signal) {
        int error = (int) call(Signals.PTHREAD_KILL, CALL_STATE_SEGMENT.get(), thread, signal);
        if (error != 0) {
            throw new NativeCallException("pthread_kill(" + signal + ")", error);
        }
    }

    /** pthread_sigmask on the calling thread; {@code set} and {@code old} are sigset_t or NULL. */
    public static void pthreadSigmask(int how, MemorySegment set, MemorySegment old) {
        int error;
        try {
            error = (int) call(Signals.PTHREAD_SIGMASK, CALL_STATE_SEGMENT.get(), how, addressOrNull(set),
                    addressOrNull(old));
        } finally {
            Reference.reachabilityFence(set);
            Reference.reachabilityFence(old);
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
            result = (int) call(Signals.SIGACTION, state, signal, nativeAddress(action), 0);
        } finally {
            Reference.reachabilityFence(action);
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
        try {
            int result = (int) call(Signals.SIGTIMEDWAIT, state, nativeAddress(set), 0, nativeAddress(timeout));
            return result < 0 ? -errno(state) : result;
        } finally {
            Reference.reachabilityFence(set);
            Reference.reachabilityFence(timeout);
        }
    }

    /** prctl(option, arg2, 0, 0, 0) (man prctl(2)); returns the result, throws on -1. */
    public static int prctl(int option, long arg2) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result = (int) call(Confinement.PRCTL, state, option, arg2, 0, 0, 0, 0);
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
        try {
            long result = call(Confinement.SYSCALL, state, number, a, b, nativeAddress(c), 0, 0);
            return result < 0 ? -errno(state) : result;
        } finally {
            Reference.reachabilityFence(c);
        }
    }

    /** sizeof(struct termios) in glibc on x86-64; termios is treated as an opaque blob. */
    public static final long TERMIOS_SIZE = 60;
    /** tcsetattr: apply after output drains, discarding pending input (termios.h). */
    public static final int TCSAFLUSH = 2;

    public static boolean isatty(int fd) {
        return (int) call(Terminal.ISATTY, CALL_STATE_SEGMENT.get(), fd) == 1;
    }

    /** tcgetattr into {@code termios} (at least {@link #TERMIOS_SIZE} bytes). */
    public static void tcgetattr(int fd, MemorySegment termios) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) call(Terminal.TCGETATTR, state, fd, nativeAddress(termios));
        } finally {
            Reference.reachabilityFence(termios);
        }
        if (result < 0) {
            throw new NativeCallException("tcgetattr(" + fd + ")", errno(state));
        }
    }

    public static void tcsetattr(int fd, int when, MemorySegment termios) {
        MemorySegment state = CALL_STATE_SEGMENT.get();
        int result;
        try {
            result = (int) call(Terminal.TCSETATTR, state, fd, when, nativeAddress(termios));
        } finally {
            Reference.reachabilityFence(termios);
        }
        if (result < 0) {
            throw new NativeCallException("tcsetattr(" + fd + ")", errno(state));
        }
    }

    /** cfmakeraw: no echo, no line editing, no signals from keys, 8-bit characters. */
    public static void cfmakeraw(MemorySegment termios) {
        try {
            call(Terminal.CFMAKERAW, CALL_STATE_SEGMENT.get(), nativeAddress(termios));
        } finally {
            Reference.reachabilityFence(termios);
        }
    }

    /** The C library's text for {@code errno}, e.g. "Permission denied". */
    public static String strerror(int errno) {
        try {
            long text = call(Errors.STRERROR, CALL_STATE_SEGMENT.get(), errno);
            return MemorySegment.ofAddress(text).reinterpret(1024).getString(0);
        } catch (RuntimeException | Error e) {
            return "errno " + errno; // a message must never fail
        }
    }

    /** A pointer argument that may be NULL: {@link MemorySegment#NULL} passes 0. */
    private static long addressOrNull(MemorySegment arg) {
        return arg.equals(MemorySegment.NULL) ? 0 : nativeAddress(arg);
    }
}
