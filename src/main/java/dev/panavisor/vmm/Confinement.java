package dev.panavisor.vmm;

import dev.panavisor.sys.Errno;
import dev.panavisor.sys.NativeCallException;
import dev.panavisor.sys.Seccomp;
import dev.panavisor.sys.SeccompFilter;
import dev.panavisor.sys.Syscall;
import java.util.List;

/**
 * The seccomp filter the VMM confines itself with once a VM is set up (docs/security.md, "Confinement"): from then
 * on, the process's threads — vCPUs, device workers, the console threads and every JVM thread — may make only the
 * system calls below. The list was measured with {@code strace -f} on runs of a whole Machine (docs/security.md
 * says how) and completed with the calls the JVM makes on paths those runs did not take.
 *
 * <p>Anything else fails with EPERM rather than killing the process: the JVM treats a failed call as an error it
 * can report (a Java exception, a warning), while a kill would lose the guest's unflushed disk writes over a call
 * the measurements missed. A system call of another ABI (i386's {@code int 0x80}) kills the process: nothing in
 * Panavisor makes one, so it can only be an attacker's.
 */
public final class Confinement {
    /** CLONE_THREAD (include/uapi/linux/sched.h): a thread of this process, not a new process. */
    static final int CLONE_THREAD = 0x0001_0000;
    /**
     * openat flags that write or create (asm-generic/fcntl.h): O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND and
     * __O_TMPFILE. Without any of them, an open only reads.
     */
    static final int OPEN_WRITE_FLAGS = 0x1 | 0x2 | 0x40 | 0x200 | 0x400 | 0x40_0000;

    /** One allowed call and the reason it is on the list (docs/security.md shows the same table). */
    record Allowed(Syscall call, String why) {
    }

    /** Allowed whatever their arguments. */
    static final List<Allowed> ALLOWED = List.of(
            new Allowed(Syscall.IOCTL, "KVM_RUN and every other KVM ioctl; the terminal's tcsetattr"),
            new Allowed(Syscall.READ, "eventfds (ioeventfd kicks), stdin, the JVM reading its jar, frames from a TAP"),
            new Allowed(Syscall.WRITE, "irqfds, console output, stdout and stderr, frames to a TAP"),
            new Allowed(Syscall.POLL, "the network receive thread waiting on its TAP and its wake-up eventfd"),
            new Allowed(Syscall.PREAD64, "the JVM loading classes from its jar; FileChannel's positional reads (a "
                    + "disk's path for memory with no host address, which a VM's mapped guest memory always has)"),
            new Allowed(Syscall.PWRITE64, "FileChannel's positional writes (a disk's path for memory with no host "
                    + "address, as above)"),
            new Allowed(Syscall.PREADV, "every virtio-blk read: a request's guest buffers, one call per 16 MiB"),
            new Allowed(Syscall.PWRITEV, "every virtio-blk write: a request's guest buffers, one call per 16 MiB"),
            new Allowed(Syscall.FDATASYNC, "virtio-blk flush (FileChannel.force(false)), and the disks' flush at the "
                    + "end"),
            new Allowed(Syscall.LSEEK, "the JVM reading its jar"),
            new Allowed(Syscall.FSTAT, "file sizes of open files"),
            new Allowed(Syscall.NEWFSTATAT, "file sizes of open files (glibc's fstat)"),
            new Allowed(Syscall.STAT, "the JVM looking for a class in a directory class path (tests, IDEs)"),
            new Allowed(Syscall.STATX, "file attributes (java.nio.file.Files on JDK 25)"),
            new Allowed(Syscall.FCNTL, "releasing a disk image's lock at close"),
            new Allowed(Syscall.GETDENTS64, "listing a directory opened for reading (the JVM's diagnostic commands, "
                    + "run --stats)"),
            new Allowed(Syscall.DUP, "a directory stream's descriptor (java.nio.file.Files.list)"),
            new Allowed(Syscall.GETCWD, "resolving a relative path (the JVM)"),
            new Allowed(Syscall.READLINK, "resolving a path's links (realpath): the JVM loading a native library "
                    + "late, e.g. libjimage for Runtime.exit's logger lookup, libmanagement for run --stats"),
            new Allowed(Syscall.CLOSE, "closing the VM, vCPU, eventfd and disk descriptors at the end"),
            new Allowed(Syscall.MUNMAP, "unmapping guest memory and kvm_run at the end; JVM memory"),
            new Allowed(Syscall.GETPID, "the vCPU kick: pthread_kill is tgkill(getpid(), tid)"),
            new Allowed(Syscall.GETTID, "glibc and the JVM identify threads"),
            new Allowed(Syscall.RT_SIGTIMEDWAIT, "a vCPU thread consuming its kick"),
            new Allowed(Syscall.RT_SIGPROCMASK, "signal masks of new threads and around KVM_RUN"),
            new Allowed(Syscall.RT_SIGACTION, "KickSignal's handler; the JVM's signal handlers"),
            new Allowed(Syscall.RT_SIGRETURN, "returning from any signal handler (the JVM's SIGSEGV-based "
                    + "safepoints and null checks)"),
            new Allowed(Syscall.RESTART_SYSCALL, "a call interrupted by a signal, restarted by the kernel"),
            new Allowed(Syscall.FUTEX, "every Java lock, wait, park and sleep"),
            new Allowed(Syscall.MMAP, "JVM memory: heap, code cache, thread stacks, malloc"),
            new Allowed(Syscall.MPROTECT, "JVM memory: JIT code, stack guard pages"),
            new Allowed(Syscall.MADVISE, "JVM memory: returning pages, thread stacks"),
            new Allowed(Syscall.MREMAP, "malloc growing a large block"),
            new Allowed(Syscall.BRK, "malloc"),
            new Allowed(Syscall.SCHED_YIELD, "JVM spin locks and safepoints"),
            new Allowed(Syscall.SCHED_GETAFFINITY, "the JVM's processor count"),
            new Allowed(Syscall.CLOCK_GETTIME, "clocks the vDSO does not serve: thread CPU time (stall watchdog)"),
            new Allowed(Syscall.CLOCK_GETRES, "clock resolution (JVM)"),
            new Allowed(Syscall.CLOCK_NANOSLEEP, "sleeps"),
            new Allowed(Syscall.NANOSLEEP, "sleeps (JVM)"),
            new Allowed(Syscall.SET_ROBUST_LIST, "a new thread's start (glibc)"),
            new Allowed(Syscall.RSEQ, "a new thread's start (glibc)"),
            new Allowed(Syscall.SIGALTSTACK, "a new or ending thread's signal stack (JVM)"),
            new Allowed(Syscall.PRCTL, "thread names (PR_SET_NAME); Seccomp.mode (PR_GET_SECCOMP)"),
            new Allowed(Syscall.EXIT, "a thread ends"),
            new Allowed(Syscall.EXIT_GROUP, "the process ends"));

    /**
     * Allowed in addition when the VM has a vsock device (run --vsock), whose host side accepts and opens UNIX
     * sockets while the VM runs ({@link VsockSockets}), or a passt network (run --net user, whose socket is connected
     * before the filter: it needs only read and write, but shares this list); measured with strace on
     * {@code VsockConfinedMain}.
     */
    static final List<Allowed> VSOCK_ALLOWED = List.of(
            new Allowed(Syscall.CONNECT, "vsock: a guest connection to host port P connects PATH_P"),
            new Allowed(Syscall.ACCEPT, "vsock: a host program connecting to PATH"),
            new Allowed(Syscall.SHUTDOWN, "vsock: the guest shut down its sending side (the host sees end of file)"),
            new Allowed(Syscall.GETSOCKNAME, "vsock: the JDK reads a new socket's local address"),
            new Allowed(Syscall.EPOLL_WAIT, "vsock: the sockets' selector waits"),
            new Allowed(Syscall.EPOLL_CTL, "vsock: the selector's interest in each socket"));

    /** socket(2)'s first argument for UNIX sockets (AF_UNIX, include/linux/socket.h). */
    static final int AF_UNIX = 1;

    private Confinement() {
    }

    /**
     * The filter: {@link #ALLOWED}; threads but no processes; signals to this process's threads only; files opened
     * only for reading.
     */
    static SeccompFilter filter() {
        return filter((int) ProcessHandle.current().pid(), false);
    }

    /**
     * The filter for process {@code pid}: signals go only to its own threads. With {@code vsockSockets}, also
     * {@link #VSOCK_ALLOWED} and {@code socket(AF_UNIX, ...)}: other socket families stay refused.
     */
    static SeccompFilter filter(int pid, boolean vsockSockets) {
        SeccompFilter.Builder builder = SeccompFilter.builder(SeccompFilter.errno(Errno.EPERM),
                SeccompFilter.RET_KILL_PROCESS);
        for (Allowed allowed : ALLOWED) {
            builder.allow(allowed.call().number());
        }
        if (vsockSockets) {
            for (Allowed allowed : VSOCK_ALLOWED) {
                builder.allow(allowed.call().number());
            }
            builder.allowWhenArgEquals(Syscall.SOCKET.number(), 0, AF_UNIX, SeccompFilter.errno(Errno.EPERM));
        }
        // New threads (JIT compilers, a shutdown hook) but not new processes: clone only with CLONE_THREAD (flags
        // are clone's first argument). clone3 passes its flags in memory, which a filter cannot read, so it gets
        // ENOSYS, and glibc's pthread_create falls back to clone (as on kernels before 5.3).
        builder.argBits(Syscall.CLONE.number(), 0, CLONE_THREAD, SeccompFilter.RET_ALLOW,
                SeccompFilter.errno(Errno.EPERM));
        builder.answer(Syscall.CLONE3.number(), SeccompFilter.errno(Errno.ENOSYS));
        // The vCPU kick, pthread_kill: tgkill(getpid(), tid, SIGUSR1), to this process's own threads only.
        builder.allowWhenArgEquals(Syscall.TGKILL.number(), 0, pid, SeccompFilter.errno(Errno.EPERM));
        // The JVM opens files lazily (/proc/self/... for its own statistics and run --stats): reading is allowed,
        // writing or creating a file is not (the flags are openat's third argument).
        builder.argBits(Syscall.OPENAT.number(), 2, OPEN_WRITE_FLAGS, SeccompFilter.errno(Errno.EPERM),
                SeccompFilter.RET_ALLOW);
        return builder.build();
    }

    /** The filter {@link #install(boolean)} installs, built and not installed. */
    public static SeccompFilter filter(boolean vsockSockets) {
        return filter((int) ProcessHandle.current().pid(), vsockSockets);
    }

    /**
     * What {@link #install(boolean)} does, except installing: the filter built and encoded, the calls linked
     * ({@link Seccomp#prepare}). For an unconfined run (--no-seccomp, --jfr, the AOT cache's training run).
     */
    public static void prepare(boolean vsockSockets) {
        Seccomp.prepare(filter(vsockSockets));
    }

    /** Installs {@link #filter()} on every thread of this process; from then on it cannot be lifted. */
    public static void install() {
        install(false);
    }

    /** As {@link #install()}; {@code vsockSockets}: the VM has a vsock device, whose UNIX sockets stay usable. */
    public static void install(boolean vsockSockets) {
        try {
            Seccomp.install(filter(vsockSockets));
        } catch (NativeCallException e) {
            throw new VmmException("cannot confine the VMM with seccomp (" + e.getMessage()
                    + "); run with --no-seccomp to run unconfined", e);
        }
    }
}
