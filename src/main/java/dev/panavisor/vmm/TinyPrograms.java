package dev.panavisor.vmm;

/**
 * Hand-assembled guest programs for {@link TinyGuest}. Each is listed with its assembly (Intel syntax) and
 * encoding (Intel SDM Vol. 2) so a reader can follow every byte the vCPU executes.
 */
public final class TinyPrograms {
    private TinyPrograms() {
    }

    /** The port the tiny programs write their results to. */
    public static final int RESULT_PORT = 0x10;
    /** The guest-physical address the long-mode program reads from and (+8) writes to: not RAM, so MMIO exits. */
    public static final long MMIO_ADDRESS = 0xd000_0000L;

    /**
     * 16-bit real mode: writes 1, 2, 4, ... 128 to port 0x10, then halts. Eight IoOut exits, then Hlt.
     * <pre>
     *   ba 10 00     mov dx, 0x10
     *   b0 01        mov al, 1
     * next:
     *   ee           out dx, al
     *   00 c0        add al, al        ; 128 + 128 overflows to 0 and sets ZF
     *   75 fb        jnz next          ; -5: back to the out
     *   f4           hlt
     * </pre>
     */
    public static byte[] powersOfTwo() {
        return bytes(0xba, 0x10, 0x00, 0xb0, 0x01, 0xee, 0x00, 0xc0, 0x75, 0xfb, 0xf4);
    }

    /**
     * 64-bit long mode: sums 1..100 (5050) and writes it to port 0x10 as a 16-bit value; reads 8 bytes from MMIO
     * address 0xd0000000 (the VMM supplies them) and writes them back to 0xd0000008; halts.
     * Exits: IoOut(0x10, 5050), MmioRead(0xd0000000, 8), MmioWrite(0xd0000008, 8, value), Hlt.
     * <pre>
     *   31 c0                    xor eax, eax
     *   b9 64 00 00 00           mov ecx, 100
     * add:
     *   01 c8                    add eax, ecx
     *   e2 fc                    loop add          ; rcx--, jump while non-zero
     *   66 ba 10 00              mov dx, 0x10
     *   66 ef                    out dx, ax
     *   48 b8 00 00 00 d0 00 00 00 00   mov rax, 0xd0000000
     *   48 8b 18                 mov rbx, [rax]
     *   48 89 58 08              mov [rax+8], rbx
     *   f4                       hlt
     * </pre>
     */
    public static byte[] sumAndEcho() {
        return bytes(0x31, 0xc0, 0xb9, 0x64, 0x00, 0x00, 0x00, 0x01, 0xc8, 0xe2, 0xfc, 0x66, 0xba, 0x10, 0x00,
                0x66, 0xef, 0x48, 0xb8, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x18,
                0x48, 0x89, 0x58, 0x08, 0xf4);
    }

    /**
     * 64-bit long mode: one exit of each kind a Linux guest's devices make, then halts: reads a byte from port 0x10
     * and writes it back, reads 8 bytes from MMIO address 0xd0000000 and writes them to 0xd0000008.
     * Exits: IoIn(0x10, 1), IoOut(0x10, 1, value), MmioRead(0xd0000000, 8), MmioWrite(0xd0000008, 8, value), Hlt.
     * <pre>
     *   66 ba 10 00              mov dx, 0x10
     *   ec                       in al, dx
     *   ee                       out dx, al
     *   48 b8 00 00 00 d0 00 00 00 00   mov rax, 0xd0000000
     *   48 8b 18                 mov rbx, [rax]
     *   48 89 58 08              mov [rax+8], rbx
     *   f4                       hlt
     * </pre>
     */
    public static byte[] everyKindOfExit() {
        return bytes(0x66, 0xba, 0x10, 0x00, 0xec, 0xee, 0x48, 0xb8, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00,
                0x48, 0x8b, 0x18, 0x48, 0x89, 0x58, 0x08, 0xf4);
    }

    /**
     * 16-bit real mode: {@code count} one-byte writes to port 0x10, then halts; one exit per write. The exit
     * benchmark runs these same bytes from Java and from C (tools/bench/exit-loop.c).
     * <pre>
     *   66 b9 NN NN NN NN   mov ecx, count
     *   ba 10 00            mov dx, 0x10
     * next:
     *   ee                  out dx, al
     *   67 e2 fc            loop next           ; 0x67: use ECX, not CX, as the counter
     *   f4                  hlt
     * </pre>
     */
    public static final int BENCHMARK_PORT = 0x10;

    public static byte[] portWrites(int count) {
        if (count <= 0) {
            throw new IllegalArgumentException("count must be positive");
        }
        return bytes(0x66, 0xb9, count & 0xff, (count >>> 8) & 0xff, (count >>> 16) & 0xff, count >>> 24,
                0xba, 0x10, 0x00, 0xee, 0x67, 0xe2, 0xfc, 0xf4);
    }

    private static byte[] bytes(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        return bytes;
    }
}
