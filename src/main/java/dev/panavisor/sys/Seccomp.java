package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Installs a {@link SeccompFilter} on every thread of this process (man seccomp(2); Linux
 * Documentation/userspace-api/seccomp_filter.rst). Two calls:
 * <ol>
 *   <li>{@code prctl(PR_SET_NO_NEW_PRIVS, 1)}: without CAP_SYS_ADMIN a filter may only be installed once the process
 *       can gain no privileges through execve (set-user-ID binaries); it also can never be unset.</li>
 *   <li>{@code seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)}: TSYNC gives the filter to all
 *       threads of the process at once — the JVM's GC, JIT and signal threads as well as the VMM's — instead of only
 *       the calling one; threads created later inherit it. The kernel sets no_new_privs on each of them too. It
 *       fails, returning the id of the thread, if some thread has a filter that is not an ancestor of ours.</li>
 * </ol>
 * A filter cannot be removed: from here on until the process ends, every system call goes through it.
 */
public final class Seccomp {
    /** include/uapi/linux/prctl.h. */
    static final int PR_SET_NO_NEW_PRIVS = 38;
    static final int PR_GET_SECCOMP = 21;
    /** include/uapi/linux/seccomp.h. */
    static final int SECCOMP_SET_MODE_FILTER = 1;
    static final int SECCOMP_FILTER_FLAG_TSYNC = 1;
    /** sizeof(struct sock_fprog) on x86-64: unsigned short len, padding, struct sock_filter *filter. */
    static final long SOCK_FPROG_SIZE = 16;

    private Seccomp() {
    }

    /**
     * Everything {@link #install} does but its two system calls: encodes {@code filter} and links the calls (by
     * making the one that changes nothing, {@link #mode}). An unconfined run calls this where a confined one
     * installs, so that the classes of this step are loaded in both; the AOT cache's training run is unconfined (its
     * JVM starts a child as it exits), and a class it never loaded comes from the jar in every run after it, whose
     * first such load reads the jar's whole directory of entries (docs/performance.md, "A jar of Panavisor's own
     * classes").
     */
    public static void prepare(SeccompFilter filter) {
        filter.encode();
        mode();
    }

    /** Installs {@code filter} on all threads; throws if the kernel refuses it. */
    public static void install(SeccompFilter filter) {
        byte[] code = filter.encode();
        Libc.prctl(PR_SET_NO_NEW_PRIVS, 1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment instructions = arena.allocate(code.length, 8);
            MemorySegment.copy(code, 0, instructions, ValueLayout.JAVA_BYTE, 0, code.length);
            MemorySegment program = arena.allocate(SOCK_FPROG_SIZE, 8);
            program.set(ValueLayout.JAVA_SHORT, 0, (short) filter.instructions().size());
            program.set(ValueLayout.ADDRESS, 8, instructions);
            // The kernel copies the program (seccomp_prepare_filter), so the arena may go once the call returns.
            long result = Libc.syscallOrErrno(Syscall.SECCOMP.number(), SECCOMP_SET_MODE_FILTER,
                    SECCOMP_FILTER_FLAG_TSYNC, program);
            if (result < 0) {
                throw new NativeCallException("seccomp(SECCOMP_SET_MODE_FILTER)", (int) -result);
            }
            if (result > 0) {
                throw new NativeCallException("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): thread " + result
                        + " could not be synchronized", Errno.EPERM);
            }
        }
    }

    /** The calling thread's seccomp mode: 0 none, 1 strict, 2 filter (man prctl(2), PR_GET_SECCOMP). */
    public static int mode() {
        return Libc.prctl(PR_GET_SECCOMP, 0);
    }
}
