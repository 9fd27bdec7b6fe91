package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The signal that kicks a thread out of a blocking system call, above all a vCPU thread out of {@code KVM_RUN}
 * (Documentation/virt/kvm/api.rst, KVM_RUN and KVM_SET_SIGNAL_MASK: "the ioctl returns -EINTR if a signal is
 * pending and unblocked").
 *
 * <p>The pattern, the one QEMU and Cloud Hypervisor use:
 * <ol>
 *   <li>A handler is installed once for {@link #SIGNAL}. It does nothing and is normally never run (below); it
 *       exists because a signal whose action is the default (terminate the process) or "ignore" would kill the
 *       process or be thrown away instead of interrupting KVM_RUN. The handler is libc's {@code getpid}: a function
 *       with no effect that is safe in any context. Not a Java upcall: an upcall may only run on a thread that is
 *       in native code, and a signal can land elsewhere; the JVM restores a thread's original signal mask as the
 *       thread ends, which delivers a kick still pending then (that crashed the JVM with "wrong thread state for
 *       upcall" while this was written, hence also step 5).</li>
 *   <li>Each thread that can be kicked blocks the signal ({@link #blockOnThisThread}) and tells KVM, through the
 *       vCPU's KVM_SET_SIGNAL_MASK, to unblock it only while inside KVM_RUN.</li>
 *   <li>A kick is {@code pthread_kill} to that thread. If it is inside KVM_RUN, KVM sees a pending unblocked signal
 *       and returns EINTR; if it is anywhere else (handling an exit), the signal stays pending, blocked, and makes
 *       the next KVM_RUN return EINTR at once. So no kick is lost, whatever the timing, and the handler never runs:
 *       when KVM_RUN returns, the thread's own mask (signal blocked) is back in force.</li>
 *   <li>The thread takes the pending signal off with {@link #consumePending} so that the next KVM_RUN runs.</li>
 *   <li>Before the thread ends, once no one can kick it any more, it takes off any kick still pending.</li>
 * </ol>
 * SIGUSR1: the JVM itself uses SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGQUIT, SIGUSR2 and the shutdown signals
 * on Linux, not SIGUSR1.
 */
public final class KickSignal {
    /** SIGUSR1 on Linux (asm-generic/signal.h). */
    public static final int SIGNAL = 10;

    private static final Arena ARENA = Arena.global();
    /** A sigset_t holding just {@link #SIGNAL}. */
    private static final MemorySegment SET = ARENA.allocate(Libc.SIGSET_SIZE);
    /** struct timespec {0, 0}: sigtimedwait only polls. */
    private static final MemorySegment NO_WAIT = ARENA.allocate(16);
    private static volatile boolean installed;

    static {
        addTo(SET);
    }

    private KickSignal() {
    }

    /** Sets {@link #SIGNAL}'s bit in a sigset_t (bit n-1 of the first 64-bit word, as in the kernel's sigset_t). */
    public static void addTo(MemorySegment sigset) {
        long word = sigset.get(ValueLayout.JAVA_LONG, 0);
        sigset.set(ValueLayout.JAVA_LONG, 0, word | (1L << (SIGNAL - 1)));
    }

    /** Clears {@link #SIGNAL}'s bit in a sigset_t. */
    public static void removeFrom(MemorySegment sigset) {
        long word = sigset.get(ValueLayout.JAVA_LONG, 0);
        sigset.set(ValueLayout.JAVA_LONG, 0, word & ~(1L << (SIGNAL - 1)));
    }

    /** Installs the do-nothing handler, once per process. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        MemorySegment action = ARENA.allocate(Libc.SIGACTION_SIZE);
        action.set(ValueLayout.ADDRESS, 0, Libc.harmlessFunction());
        // sa_mask empty, sa_flags 0: no SA_RESTART, so a handler (were it ever run) would interrupt calls.
        Libc.sigaction(SIGNAL, action);
        installed = true;
    }

    /**
     * Blocks {@link #SIGNAL} on the calling thread and returns the thread's mask as it was before, which is the
     * mask to give KVM_SET_SIGNAL_MASK (everything the thread blocked, minus nothing: the kick is not in it).
     */
    public static MemorySegment blockOnThisThread(Arena arena) {
        install();
        MemorySegment before = arena.allocate(Libc.SIGSET_SIZE);
        Libc.pthreadSigmask(Libc.SIG_BLOCK, SET, before);
        removeFrom(before);
        return before;
    }

    /** Sends the kick to a thread (its pthread_t, from {@link Libc#pthreadSelf()}) that is still alive. */
    public static void send(long pthread) {
        Libc.pthreadKill(pthread, SIGNAL);
    }

    /** Takes a pending kick off the calling thread, if there is one; returns whether there was. */
    public static boolean consumePending() {
        int result = Libc.sigtimedwaitOrErrno(SET, NO_WAIT);
        if (result == SIGNAL) {
            return true;
        }
        if (result == -Errno.EAGAIN || result == -Errno.EINTR) {
            return false;
        }
        throw new NativeCallException("sigtimedwait", -result);
    }
}
