package dev.panavisor.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A small interpreter for the classic BPF instructions a seccomp filter may use (the subset
 * {@link SeccompFilter} emits: LD|W|ABS, JEQ|K, JSET|K, RET|K), run on the encoded bytes the kernel would get, over
 * a {@code struct seccomp_data} built here. Written from include/uapi/linux/filter.h and seccomp_filter.rst, not
 * from the builder, so a wrong offset or jump in the builder shows up as a wrong verdict.
 */
public final class ClassicBpf {
    private ClassicBpf() {
    }

    /** struct seccomp_data: nr, arch, instruction_pointer, args[6], little-endian; 64 bytes. */
    public static ByteBuffer seccompData(int nr, int arch, long... args) {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch).putLong(8, 0x401000L);
        for (int i = 0; i < args.length; i++) {
            data.putLong(16 + 8 * i, args[i]);
        }
        return data;
    }

    /** Runs {@code program} (struct sock_filter[], little-endian) on {@code data}; returns the RET value. */
    public static int run(byte[] program, ByteBuffer data) {
        ByteBuffer code = ByteBuffer.wrap(program).order(ByteOrder.LITTLE_ENDIAN);
        int count = program.length / 8;
        int accumulator = 0;
        int pc = 0;
        while (true) {
            if (pc < 0 || pc >= count) {
                throw new IllegalStateException("ran off the program at " + pc);
            }
            int op = Short.toUnsignedInt(code.getShort(pc * 8));
            int jt = Byte.toUnsignedInt(code.get(pc * 8 + 2));
            int jf = Byte.toUnsignedInt(code.get(pc * 8 + 3));
            int k = code.getInt(pc * 8 + 4);
            pc++;
            switch (op) {
                case 0x20 -> { // BPF_LD | BPF_W | BPF_ABS: 32-bit load; the kernel refuses unaligned or out-of-range
                    if (k < 0 || k > 60 || (k & 3) != 0) {
                        throw new IllegalStateException("bad seccomp_data offset " + k);
                    }
                    accumulator = data.getInt(k);
                }
                case 0x15 -> pc += accumulator == k ? jt : jf; // BPF_JMP | BPF_JEQ | BPF_K
                case 0x45 -> pc += (accumulator & k) != 0 ? jt : jf; // BPF_JMP | BPF_JSET | BPF_K
                case 0x06 -> { // BPF_RET | BPF_K
                    return k;
                }
                default -> throw new IllegalStateException("instruction 0x" + Integer.toHexString(op)
                        + " at " + (pc - 1) + " is not one a seccomp filter here uses");
            }
        }
    }
}
