package dev.panavisor.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A seccomp filter as a classic BPF program, built in Java: first the architecture check, then one comparison per
 * system call number, each with its action; everything else gets the default action. Pure data, no native code:
 * {@link Seccomp#install} hands {@link #instructions()} to the kernel.
 *
 * <p>The program runs on {@code struct seccomp_data} (Documentation/userspace-api/seccomp_filter.rst, "Filter
 * programs"; include/uapi/linux/seccomp.h): {@code int nr} at offset 0, {@code __u32 arch} at 4, {@code __u64
 * instruction_pointer} at 8, {@code __u64 args[6]} from 16, in the host's byte order. The arch check comes first
 * because a system call number means different calls in different ABIs (seccomp_filter.rst: "it is strongly
 * recommended to check the arch"); a process on x86-64 could otherwise enter the i386 table with {@code int 0x80}
 * and reach calls the x86-64 list never named. The x32 ABI shares AUDIT_ARCH_X86_64 but sets bit 30 of the number
 * ({@code __X32_SYSCALL_BIT}); such numbers never equal an allowed x86-64 number, so they get the default action.
 *
 * <p>Each instruction is a {@code struct sock_filter} (include/uapi/linux/filter.h): {@code __u16 code; __u8 jt;
 * __u8 jf; __u32 k;}, 8 bytes. Jumps are relative and forward only, at most 255 instructions for a conditional jump,
 * which bounds a program to about 250 rules in this linear form.
 */
public final class SeccompFilter {
    /** AUDIT_ARCH_X86_64: EM_X86_64 (62) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE (include/uapi/linux/audit.h). */
    public static final int AUDIT_ARCH_X86_64 = 0xC000003E;

    /** Return values (include/uapi/linux/seccomp.h); the low 16 bits of RET_ERRNO carry the errno. */
    public static final int RET_KILL_PROCESS = 0x80000000;
    public static final int RET_ERRNO = 0x00050000;
    public static final int RET_ALLOW = 0x7fff0000;

    /** Offsets in struct seccomp_data. */
    public static final int OFFSET_NR = 0;
    public static final int OFFSET_ARCH = 4;
    public static final int OFFSET_ARGS = 16;

    /** Instruction classes and modes (include/uapi/linux/bpf_common.h). */
    public static final short LD_W_ABS = 0x00 | 0x00 | 0x20; // BPF_LD | BPF_W | BPF_ABS
    public static final short JEQ_K = 0x05 | 0x10 | 0x00;    // BPF_JMP | BPF_JEQ | BPF_K
    public static final short JSET_K = 0x05 | 0x40 | 0x00;   // BPF_JMP | BPF_JSET | BPF_K
    public static final short RET_K = 0x06 | 0x00;           // BPF_RET | BPF_K

    /** The longest program the kernel takes (BPF_MAXINSNS, include/uapi/linux/bpf_common.h). */
    static final int MAX_INSTRUCTIONS = 4096;
    private static final int MAX_JUMP = 255;

    /** One classic BPF instruction. */
    public record Instruction(short code, int jt, int jf, int k) {
        public Instruction {
            if (jt < 0 || jt > MAX_JUMP || jf < 0 || jf > MAX_JUMP) {
                throw new IllegalArgumentException("jump offset out of range: jt=" + jt + " jf=" + jf);
            }
        }
    }

    /** What happens to one system call number. */
    private sealed interface Rule {
    }

    private record Always(int action) implements Rule {
    }

    /** Decided by the low 32 bits of argument {@code arg}: {@code ifAny} when they have any of {@code bits}. */
    private record ArgBits(int arg, int bits, int ifAny, int ifNone) implements Rule {
    }

    /** Allowed when the low 32 bits of argument {@code arg} equal {@code value}; else {@code otherwise}. */
    private record ArgEquals(int arg, int value, int otherwise) implements Rule {
    }

    private final List<Instruction> instructions;
    private final int defaultAction;
    private final int wrongArchAction;

    private SeccompFilter(List<Instruction> instructions, int defaultAction, int wrongArchAction) {
        this.instructions = List.copyOf(instructions);
        this.defaultAction = defaultAction;
        this.wrongArchAction = wrongArchAction;
    }

    /** A builder whose unlisted calls get {@code defaultAction}, and calls of another ABI {@code wrongArchAction}. */
    public static Builder builder(int defaultAction, int wrongArchAction) {
        return new Builder(defaultAction, wrongArchAction);
    }

    /** SECCOMP_RET_ERRNO with {@code errno}. */
    public static int errno(int errno) {
        if (errno <= 0 || errno > 0xffff) {
            throw new IllegalArgumentException("errno out of range: " + errno);
        }
        return RET_ERRNO | errno;
    }

    public List<Instruction> instructions() {
        return instructions;
    }

    public int defaultAction() {
        return defaultAction;
    }

    public int wrongArchAction() {
        return wrongArchAction;
    }

    /** The program as the kernel reads it: {@code struct sock_filter[]} in the host's (little-endian) order. */
    public byte[] encode() {
        ByteBuffer buffer = ByteBuffer.allocate(instructions.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (Instruction i : instructions) {
            buffer.putShort(i.code()).put((byte) i.jt()).put((byte) i.jf()).putInt(i.k());
        }
        return buffer.array();
    }

    /** Collects the rules; {@link #build()} lays out the program. */
    public static final class Builder {
        private final int defaultAction;
        private final int wrongArchAction;
        private final Map<Integer, Rule> rules = new LinkedHashMap<>();

        private Builder(int defaultAction, int wrongArchAction) {
            this.defaultAction = defaultAction;
            this.wrongArchAction = wrongArchAction;
        }

        public Builder allow(int nr) {
            return add(nr, new Always(RET_ALLOW));
        }

        /** {@code nr} gets {@code action} (e.g. {@link #errno} of ENOSYS) instead of the default. */
        public Builder answer(int nr, int action) {
            return add(nr, new Always(action));
        }

        /**
         * {@code nr} gets {@code ifAny} when the low 32 bits of argument {@code arg} (0-5) have any of {@code bits}
         * set, and {@code ifNone} when they have none (flags arguments: CLONE_THREAD, O_WRONLY).
         */
        public Builder argBits(int nr, int arg, int bits, int ifAny, int ifNone) {
            checkArg(arg);
            return add(nr, new ArgBits(arg, bits, ifAny, ifNone));
        }

        /**
         * {@code nr} is allowed when the low 32 bits of argument {@code arg} (0-5) equal {@code value} (a pid: the
         * kernel takes pid_t arguments as 32-bit ints), and gets {@code otherwise} when they do not.
         */
        public Builder allowWhenArgEquals(int nr, int arg, int value, int otherwise) {
            checkArg(arg);
            return add(nr, new ArgEquals(arg, value, otherwise));
        }

        private static void checkArg(int arg) {
            if (arg < 0 || arg > 5) {
                throw new IllegalArgumentException("a system call has arguments 0 to 5, not " + arg);
            }
        }

        private Builder add(int nr, Rule rule) {
            if (nr < 0) {
                throw new IllegalArgumentException("negative system call number " + nr);
            }
            if (rules.putIfAbsent(nr, rule) != null) {
                throw new IllegalArgumentException("system call " + nr + " has two rules");
            }
            return this;
        }

        /**
         * The program: load arch, compare, kill on mismatch; load nr; one JEQ per rule, jumping to the shared
         * ALLOW (or to the rule's own block); then the default action, ALLOW, and the rule blocks.
         */
        public SeccompFilter build() {
            List<Instruction> program = new ArrayList<>();
            program.add(new Instruction(LD_W_ABS, 0, 0, OFFSET_ARCH));
            program.add(new Instruction(JEQ_K, 1, 0, AUDIT_ARCH_X86_64));
            program.add(new Instruction(RET_K, 0, 0, wrongArchAction));
            program.add(new Instruction(LD_W_ABS, 0, 0, OFFSET_NR));
            int compares = rules.size();
            int firstCompare = program.size();
            int defaultAt = firstCompare + compares;
            int allowAt = defaultAt + 1;
            // The rules' own blocks follow ALLOW: a RET for an answer; load, test, allow, refuse for a condition.
            int nextBlock = allowAt + 1;
            List<Instruction> blocks = new ArrayList<>();
            int index = 0;
            for (Map.Entry<Integer, Rule> entry : rules.entrySet()) {
                int at = firstCompare + index;
                int target = switch (entry.getValue()) {
                    case Always always when always.action() == RET_ALLOW -> allowAt;
                    case Always always -> {
                        blocks.add(new Instruction(RET_K, 0, 0, always.action()));
                        yield nextBlock++;
                    }
                    case ArgBits bits -> {
                        int blockAt = nextBlock;
                        // Little-endian: the low 32 bits of args[i] come first.
                        blocks.add(new Instruction(LD_W_ABS, 0, 0, OFFSET_ARGS + 8 * bits.arg()));
                        blocks.add(new Instruction(JSET_K, 0, 1, bits.bits()));
                        blocks.add(new Instruction(RET_K, 0, 0, bits.ifAny()));
                        blocks.add(new Instruction(RET_K, 0, 0, bits.ifNone()));
                        nextBlock += 4;
                        yield blockAt;
                    }
                    case ArgEquals equals -> {
                        int blockAt = nextBlock;
                        blocks.add(new Instruction(LD_W_ABS, 0, 0, OFFSET_ARGS + 8 * equals.arg()));
                        blocks.add(new Instruction(JEQ_K, 0, 1, equals.value()));
                        blocks.add(new Instruction(RET_K, 0, 0, RET_ALLOW));
                        blocks.add(new Instruction(RET_K, 0, 0, equals.otherwise()));
                        nextBlock += 4;
                        yield blockAt;
                    }
                };
                program.add(new Instruction(JEQ_K, jump(at, target), 0, entry.getKey()));
                index++;
            }
            program.add(new Instruction(RET_K, 0, 0, defaultAction));
            program.add(new Instruction(RET_K, 0, 0, RET_ALLOW));
            program.addAll(blocks);
            if (program.size() > MAX_INSTRUCTIONS) {
                throw new IllegalStateException("seccomp program of " + program.size() + " instructions is too long");
            }
            return new SeccompFilter(program, defaultAction, wrongArchAction);
        }

        /** A conditional jump's offset: counted from the next instruction (filter.h). */
        private static int jump(int from, int to) {
            int offset = to - from - 1;
            if (offset > MAX_JUMP) {
                throw new IllegalStateException("too many seccomp rules: a jump of " + offset
                        + " instructions is beyond classic BPF's 255");
            }
            return offset;
        }
    }
}
