package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class SeccompFilterTest {
    static final int X86_64 = SeccompFilter.AUDIT_ARCH_X86_64;
    /** AUDIT_ARCH_I386: EM_386 (3) | __AUDIT_ARCH_LE. */
    static final int I386 = 0x40000003;
    static final int EPERM = SeccompFilter.RET_ERRNO | Errno.EPERM;

    static SeccompFilter sample() {
        return SeccompFilter.builder(EPERM, SeccompFilter.RET_KILL_PROCESS)
                .allow(0)   // read
                .allow(16)  // ioctl
                .allow(202) // futex
                .answer(435, SeccompFilter.errno(Errno.ENOSYS))                      // clone3
                .argBits(56, 0, 0x10000, SeccompFilter.RET_ALLOW, EPERM)             // clone: CLONE_THREAD
                .argBits(257, 2, 0x3, EPERM, SeccompFilter.RET_ALLOW)               // openat: not for writing
                .allowWhenArgEquals(234, 0, 4242, EPERM)                             // tgkill: own pid only
                .build();
    }

    static int verdict(SeccompFilter filter, int nr, int arch, long... args) {
        return ClassicBpf.run(filter.encode(), ClassicBpf.seccompData(nr, arch, args));
    }

    @Test
    void allowed_numbers_pass_and_every_other_number_gets_the_default() {
        SeccompFilter filter = sample();
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 0, X86_64));
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 16, X86_64));
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 202, X86_64));
        for (int nr : new int[] {1, 15, 17, 41, 59, 101, 201, 203, 317, 434, 436, 1000}) {
            assertEquals(EPERM, verdict(filter, nr, X86_64), "syscall " + nr);
        }
    }

    @Test
    void another_architecture_is_killed_before_its_number_is_looked_at() {
        SeccompFilter filter = sample();
        // 0 is read on x86-64 but restart_syscall on i386: the number alone must not decide.
        assertEquals(SeccompFilter.RET_KILL_PROCESS, verdict(filter, 0, I386));
        assertEquals(SeccompFilter.RET_KILL_PROCESS, verdict(filter, 202, I386));
        assertEquals(SeccompFilter.RET_KILL_PROCESS, verdict(filter, 0, 0));
    }

    @Test
    void x32_numbers_are_not_mistaken_for_their_x86_64_twins() {
        // The x32 ABI reports AUDIT_ARCH_X86_64 with bit 30 set in the number (__X32_SYSCALL_BIT).
        assertEquals(EPERM, verdict(sample(), 0x4000_0000, X86_64));
        assertEquals(EPERM, verdict(sample(), 0x4000_0000 | 16, X86_64));
    }

    @Test
    void answers_and_argument_conditions() {
        SeccompFilter filter = sample();
        assertEquals(SeccompFilter.RET_ERRNO | Errno.ENOSYS, verdict(filter, 435, X86_64));
        long threadFlags = 0x3d0f00; // glibc's pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|...
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 56, X86_64, threadFlags));
        assertEquals(EPERM, verdict(filter, 56, X86_64, 0x01200011L), "fork-like clone (SIGCHLD|CHILD_*TID)");
        assertEquals(EPERM, verdict(filter, 56, X86_64, 0x4111L), "vfork-like clone (CLONE_VM|CLONE_VFORK)");
        assertEquals(EPERM, verdict(filter, 56, X86_64, 0x1_0000_0000L), "only the low 32 bits count");
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 257, X86_64, -100, 0x1000, 0x80000));
        assertEquals(EPERM, verdict(filter, 257, X86_64, -100, 0x1000, 0x80001));
        assertEquals(EPERM, verdict(filter, 257, X86_64, -100, 0x1000, 0x2));
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 234, X86_64, 4242, 4243, 10));
        assertEquals(EPERM, verdict(filter, 234, X86_64, 4243, 4243, 10));
        assertEquals(EPERM, verdict(filter, 234, X86_64, 1, 1, 9));
    }

    @Test
    void the_program_starts_with_the_arch_check_and_encodes_as_sock_filter() {
        SeccompFilter filter = sample();
        byte[] bytes = filter.encode();
        assertEquals(filter.instructions().size() * 8, bytes.length);
        ByteBuffer code = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        // ld [4]; jeq #AUDIT_ARCH_X86_64, +1, +0; ret #KILL_PROCESS; ld [0]
        assertEquals(0x20, code.getShort(0));
        assertEquals(4, code.getInt(4));
        assertEquals(0x15, code.getShort(8));
        assertEquals(1, code.get(10));
        assertEquals(0, code.get(11));
        assertEquals(0xC000003E, code.getInt(12));
        assertEquals(0x06, code.getShort(16));
        assertEquals(0x80000000, code.getInt(20));
        assertEquals(0x20, code.getShort(24));
        assertEquals(0, code.getInt(28));
    }

    @Test
    void a_number_with_two_rules_or_a_bad_argument_index_is_refused() {
        assertThrows(IllegalArgumentException.class,
                () -> SeccompFilter.builder(EPERM, EPERM).allow(1).allow(1));
        assertThrows(IllegalArgumentException.class,
                () -> SeccompFilter.builder(EPERM, EPERM).argBits(1, 6, 1, EPERM, EPERM));
        assertThrows(IllegalArgumentException.class, () -> SeccompFilter.errno(0));
    }

    @Test
    void more_rules_than_a_jump_can_span_are_refused_rather_than_mislinked() {
        SeccompFilter.Builder builder = SeccompFilter.builder(EPERM, EPERM);
        for (int nr = 0; nr < 300; nr++) {
            builder.allow(nr);
        }
        assertThrows(IllegalStateException.class, builder::build);
        SeccompFilter.Builder fits = SeccompFilter.builder(EPERM, EPERM);
        for (int nr = 0; nr < 255; nr++) {
            fits.allow(nr);
        }
        SeccompFilter filter = fits.build();
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 0, X86_64));
        assertEquals(SeccompFilter.RET_ALLOW, verdict(filter, 254, X86_64));
        assertEquals(EPERM, verdict(filter, 255, X86_64));
    }

    @Test
    void syscall_numbers_match_the_x86_64_table() {
        // Pinned from arch/x86/entry/syscalls/syscall_64.tbl.
        assertEquals(16, Syscall.IOCTL.number());
        assertEquals(56, Syscall.CLONE.number());
        assertEquals(202, Syscall.FUTEX.number());
        assertEquals(257, Syscall.OPENAT.number());
        assertEquals(317, Syscall.SECCOMP.number());
        assertEquals(435, Syscall.CLONE3.number());
        assertEquals("exit_group", Syscall.EXIT_GROUP.callName());
    }

    @Test
    void every_number_matches_the_hosts_unistd_header() throws java.io.IOException {
        // Debian's linux-libc-dev, which build-essential brings (the guest kernel's build needs both), or where other
        // distributions put it: a host that runs the tests has it, and a missing header fails the check.
        java.nio.file.Path header = java.util.stream.Stream.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
                "/usr/include/asm/unistd_64.h").map(java.nio.file.Path::of)
                .filter(java.nio.file.Files::isRegularFile).findFirst().orElse(null);
        assertTrue(header != null, "no <asm/unistd_64.h>: apt-get install linux-libc-dev");
        java.util.Map<String, Integer> defined = new java.util.HashMap<>();
        for (String line : java.nio.file.Files.readAllLines(header)) {
            String[] words = line.trim().split("\\s+");
            if (words.length == 3 && words[0].equals("#define") && words[1].startsWith("__NR_")) {
                defined.put(words[1].substring(5), Integer.parseInt(words[2]));
            }
        }
        for (Syscall call : Syscall.values()) {
            assertEquals(defined.get(call.callName()), call.number(), call.callName());
        }
    }
}
