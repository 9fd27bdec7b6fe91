package dev.panavisor.cpu;

import dev.panavisor.kvm.Segment;
import dev.panavisor.memory.GuestMemory;

/**
 * The boot GDT: the few flat segments a guest needs to be entered in 64-bit long mode (or 32-bit protected mode),
 * written into guest memory so that the guest's own segment loads find descriptors that match the hidden state
 * KVM was given.
 *
 * <p>Descriptor format: Intel SDM Vol. 3A §3.4.5 "Segment Descriptors". Selector numbering follows the Linux boot
 * protocol's expectation for the 32-bit entry ("__BOOT_CS" 0x10, "__BOOT_DS" 0x18; boot.rst, "32-bit boot
 * protocol"); the 64-bit entry only needs flat segments, and these serve both.
 */
public final class BootGdt {
    private BootGdt() {
    }

    public static final int NULL_INDEX = 0;
    /** Index 1 is left null too (Linux's boot GDT has an unused entry there). */
    public static final int CODE64_INDEX = 2;
    public static final int DATA_INDEX = 3;
    public static final int CODE32_INDEX = 4;
    /** A 64-bit TSS descriptor is 16 bytes: it takes slots 5 and 6 (the second holds base bits 63:32, zero here). */
    public static final int TSS_INDEX = 5;
    public static final int ENTRIES = 7;

    // Type fields (Intel SDM Vol. 3A §3.4.5.1, Table 3-1; system types Table 3-2).
    private static final int TYPE_CODE_EXEC_READ_ACCESSED = 0xb;
    private static final int TYPE_DATA_READ_WRITE_ACCESSED = 0x3;
    private static final int TYPE_TSS_BUSY_64 = 0xb;

    /** 64-bit code: L=1, D=0, flat, ring 0. */
    public static final Segment CODE64 = new Segment(0, 0xffff_ffff, CODE64_INDEX * 8,
            TYPE_CODE_EXEC_READ_ACCESSED, true, 0, false, true, true, true, false, false);
    /** 32-bit code: D=1, flat, ring 0 (for 32-bit entries such as PVH). */
    public static final Segment CODE32 = new Segment(0, 0xffff_ffff, CODE32_INDEX * 8,
            TYPE_CODE_EXEC_READ_ACCESSED, true, 0, true, true, false, true, false, false);
    /** Flat read/write data: D/B=1 (32-bit stack), ring 0. */
    public static final Segment DATA = new Segment(0, 0xffff_ffff, DATA_INDEX * 8,
            TYPE_DATA_READ_WRITE_ACCESSED, true, 0, true, true, false, true, false, false);
    /** A minimal TSS: KVM requires a usable TR in protected mode; the guest installs its own later. */
    public static final Segment TSS = new Segment(0, 0xfffff, TSS_INDEX * 8,
            TYPE_TSS_BUSY_64, true, 0, false, false, false, false, false, false);

    /** The 8-byte descriptor that encodes {@code segment} (Intel SDM Vol. 3A Figure 3-8). */
    public static long descriptor(Segment segment) {
        long base = segment.base();
        long limit = segment.limit() & 0xffff_ffffL;
        if (segment.g()) {
            limit >>>= 12; // the descriptor holds the limit in 4 KiB units
        }
        long d = 0;
        d |= limit & 0xffff;
        d |= (base & 0xff_ffff) << 16;
        d |= (long) (segment.type() & 0xf) << 40;
        d |= (segment.s() ? 1L : 0) << 44;
        d |= (long) (segment.dpl() & 3) << 45;
        d |= (segment.present() ? 1L : 0) << 47;
        d |= ((limit >>> 16) & 0xf) << 48;
        d |= (segment.avl() ? 1L : 0) << 52;
        d |= (segment.l() ? 1L : 0) << 53;
        d |= (segment.db() ? 1L : 0) << 54;
        d |= (segment.g() ? 1L : 0) << 55;
        d |= ((base >>> 24) & 0xff) << 56;
        return d;
    }

    /** Writes the GDT at {@code address}; returns its limit (size - 1) for GDTR. */
    public static int write(GuestMemory memory, long address) {
        long[] table = new long[ENTRIES];
        table[CODE64_INDEX] = descriptor(CODE64);
        table[DATA_INDEX] = descriptor(DATA);
        table[TSS_INDEX] = descriptor(TSS);
        table[CODE32_INDEX] = descriptor(CODE32);
        memory.checkRange(address, ENTRIES * 8L);
        for (int i = 0; i < ENTRIES; i++) {
            memory.writeU64(address + i * 8L, table[i]);
        }
        return ENTRIES * 8 - 1;
    }
}
