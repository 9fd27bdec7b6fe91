package dev.panavisor.sys;

/**
 * The x86-64 system calls Panavisor's seccomp filter names, with their numbers (arch/x86/entry/syscalls/
 * syscall_64.tbl; the same numbers as __NR_* in asm/unistd_64.h). Only calls the filter allows or answers
 * specially, the ones the tests try to make, and the ones made through {@link Libc#syscallOrErrno} are listed.
 */
public enum Syscall {
    READ(0), WRITE(1), CLOSE(3), STAT(4), FSTAT(5), POLL(7), LSEEK(8), MMAP(9), MPROTECT(10), MUNMAP(11), BRK(12),
    RT_SIGACTION(13), RT_SIGPROCMASK(14), RT_SIGRETURN(15), IOCTL(16), PREAD64(17), PWRITE64(18), READV(19), WRITEV(20),
    SCHED_YIELD(24), MREMAP(25), MADVISE(28), DUP(32), NANOSLEEP(35), GETPID(39), SOCKET(41), CONNECT(42),
    ACCEPT(43), SHUTDOWN(48), GETSOCKNAME(51), CLONE(56), FORK(57), VFORK(58),
    EXECVE(59), EXIT(60), FCNTL(72), FSYNC(74), FDATASYNC(75), GETCWD(79), UNLINK(87), READLINK(89), PTRACE(101),
    RT_SIGTIMEDWAIT(128), SIGALTSTACK(131), PRCTL(157), GETTID(186), FUTEX(202), SCHED_SETAFFINITY(203),
    SCHED_GETAFFINITY(204),
    GETDENTS64(217), RESTART_SYSCALL(219), CLOCK_GETTIME(228), CLOCK_GETRES(229), CLOCK_NANOSLEEP(230),
    EXIT_GROUP(231), EPOLL_WAIT(232), EPOLL_CTL(233), TGKILL(234), OPENAT(257), NEWFSTATAT(262), SET_ROBUST_LIST(273),
    PREADV(295), PWRITEV(296), SECCOMP(317), STATX(332),
    RSEQ(334), CLONE3(435);

    private final int number;

    Syscall(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    /** The name as in man pages and strace output: {@code pread64}, {@code exit_group}. */
    public String callName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
