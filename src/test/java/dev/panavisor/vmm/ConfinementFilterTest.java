package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.sys.ClassicBpf;
import dev.panavisor.sys.Errno;
import dev.panavisor.sys.SeccompFilter;
import dev.panavisor.sys.Syscall;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The VMM's own filter, run through a BPF interpreter: what it lets through and what it refuses. */
class ConfinementFilterTest {
    static final int X86_64 = SeccompFilter.AUDIT_ARCH_X86_64;
    static final int EPERM = SeccompFilter.errno(Errno.EPERM);

    static int verdict(Syscall call, long... args) {
        return ClassicBpf.run(Confinement.filter().encode(), ClassicBpf.seccompData(call.number(), X86_64, args));
    }

    @Test
    void every_call_on_the_list_is_allowed() {
        for (Confinement.Allowed allowed : Confinement.ALLOWED) {
            assertEquals(SeccompFilter.RET_ALLOW, verdict(allowed.call()), allowed.call().callName());
        }
    }

    @Test
    void the_tap_backend_s_calls_after_start_are_allowed() {
        // run --net: the receive thread polls the TAP and its eventfd and reads frames; the worker writes them.
        assertEquals(SeccompFilter.RET_ALLOW, verdict(Syscall.POLL, 0, 2, -1));
        assertEquals(SeccompFilter.RET_ALLOW, verdict(Syscall.READ, 42, 0, 65549));
        assertEquals(SeccompFilter.RET_ALLOW, verdict(Syscall.WRITE, 42, 0, 1514));
    }

    @Test
    void no_sockets_no_processes_no_tracing_no_deleting() {
        for (Syscall call : new Syscall[] {Syscall.SOCKET, Syscall.EXECVE, Syscall.FORK, Syscall.VFORK,
                Syscall.PTRACE, Syscall.UNLINK, Syscall.SECCOMP}) {
            assertEquals(EPERM, verdict(call), call.callName());
        }
        assertEquals(SeccompFilter.errno(Errno.ENOSYS), verdict(Syscall.CLONE3), "clone3: glibc falls back to clone");
        assertEquals(SeccompFilter.RET_ALLOW, verdict(Syscall.CLONE, 0x3d0f00), "a thread (glibc's flags)");
        assertEquals(EPERM, verdict(Syscall.CLONE, 0x4111), "posix_spawn's CLONE_VM|CLONE_VFORK|SIGCHLD");
        assertEquals(EPERM, verdict(Syscall.CLONE, 0x1200011), "fork's flags");
    }

    @Test
    void with_a_vsock_device_unix_sockets_are_allowed_and_no_other_family() {
        byte[] vsock = Confinement.filter((int) ProcessHandle.current().pid(), true).encode();
        int afUnix = 1;
        int afInet = 2;
        int afInet6 = 10;
        int afNetlink = 16;
        assertEquals(SeccompFilter.RET_ALLOW, ClassicBpf.run(vsock, ClassicBpf.seccompData(Syscall.SOCKET.number(),
                X86_64, afUnix, 1, 0)));
        for (int family : new int[] {afInet, afInet6, afNetlink, 0}) {
            assertEquals(EPERM, ClassicBpf.run(vsock, ClassicBpf.seccompData(Syscall.SOCKET.number(), X86_64,
                    family, 1, 0)), "family " + family);
        }
        for (Confinement.Allowed allowed : Confinement.VSOCK_ALLOWED) {
            assertEquals(SeccompFilter.RET_ALLOW, ClassicBpf.run(vsock,
                    ClassicBpf.seccompData(allowed.call().number(), X86_64)), allowed.call().callName());
            assertEquals(EPERM, verdict(allowed.call()), "without vsock: " + allowed.call().callName());
        }
        assertEquals(EPERM, verdict(Syscall.SOCKET, afUnix, 1, 0), "without vsock, no socket at all");
        assertEquals(EPERM, ClassicBpf.run(vsock, ClassicBpf.seccompData(Syscall.EXECVE.number(), X86_64)));
    }

    @Test
    void signals_go_only_to_this_process_s_threads() {
        int pid = (int) ProcessHandle.current().pid();
        assertEquals(SeccompFilter.RET_ALLOW, verdict(Syscall.TGKILL, pid, pid + 1, 10));
        assertEquals(EPERM, verdict(Syscall.TGKILL, 1, 1, 9));
        assertEquals(EPERM, verdict(Syscall.TGKILL, pid + 1, pid + 1, 9));
    }

    @Test
    void files_open_for_reading_only() {
        int atFdcwd = -100;
        assertEquals(SeccompFilter.RET_ALLOW, verdict(Syscall.OPENAT, atFdcwd, 0, 0x80000)); // O_RDONLY|O_CLOEXEC
        assertEquals(EPERM, verdict(Syscall.OPENAT, atFdcwd, 0, 0x1)); // O_WRONLY
        assertEquals(EPERM, verdict(Syscall.OPENAT, atFdcwd, 0, 0x2)); // O_RDWR
        assertEquals(EPERM, verdict(Syscall.OPENAT, atFdcwd, 0, 0x241)); // O_WRONLY|O_CREAT|O_TRUNC
        assertEquals(EPERM, verdict(Syscall.OPENAT, atFdcwd, 0, 0x410000 | 0x2)); // O_TMPFILE|O_RDWR
    }

    @Test
    void docs_security_md_explains_every_allowed_call() throws Exception {
        String doc = Files.readString(Path.of("docs/security.md"));
        for (Confinement.Allowed allowed : java.util.stream.Stream.concat(Confinement.ALLOWED.stream(),
                Confinement.VSOCK_ALLOWED.stream()).toList()) {
            assertTrue(doc.contains("| `" + allowed.call().callName() + "` |"),
                    "docs/security.md has no table row for " + allowed.call().callName());
        }
    }
}
