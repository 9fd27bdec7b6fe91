package dev.panavisor.cpu;

import dev.panavisor.kvm.DescriptorTable;
import dev.panavisor.kvm.Sregs;
import dev.panavisor.kvm.Sregs.SegmentRegister;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;

/**
 * Puts a vCPU straight into 64-bit long mode, the state the Linux 64-bit boot protocol asks for: paging on with an
 * identity map, flat segments from a valid GDT, interrupts off (boot.rst, "64-bit boot protocol"). Used by the
 * tiny long-mode guest and by the Linux loader alike.
 */
public final class LongMode {
    private LongMode() {
    }

    // Control register and EFER bits (Intel SDM Vol. 3A §2.5, §2.2.1).
    public static final long CR0_PE = 1L;         // protected mode
    public static final long CR0_MP = 1L << 1;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_NE = 1L << 5;
    public static final long CR0_WP = 1L << 16;
    public static final long CR0_AM = 1L << 18;
    public static final long CR0_PG = 1L << 31;   // paging
    public static final long CR4_PAE = 1L << 5;   // physical address extension, required for long mode
    public static final long EFER_SCE = 1L;
    public static final long EFER_LME = 1L << 8;  // long mode enable
    public static final long EFER_LMA = 1L << 10; // long mode active (set by the CPU; KVM wants it set with LME)

    /**
     * Writes the boot GDT and identity page tables at their {@link GuestLayout} addresses and sets {@code sregs}
     * for 64-bit execution at ring 0. The caller writes sregs back to the vCPU.
     */
    public static void enter(GuestMemory memory, Sregs sregs) {
        int gdtLimit = BootGdt.write(memory, GuestLayout.GDT_ADDRESS);
        // Map all of the low 4 GiB, not just RAM: MMIO devices (virtio at 0xd0000000, the APICs) live there too.
        long cr3 = IdentityPageTables.write(memory, GuestLayout.PML4_ADDRESS, GuestLayout.PDPT_ADDRESS,
                GuestLayout.PD_ADDRESS, GuestLayout.IDENTITY_MAPPED_BYTES);
        memory.fill(GuestLayout.IDT_ADDRESS, 8, (byte) 0);

        sregs.setGdt(new DescriptorTable(GuestLayout.GDT_ADDRESS, gdtLimit));
        sregs.setIdt(new DescriptorTable(GuestLayout.IDT_ADDRESS, 0));
        sregs.setSegment(SegmentRegister.CS, BootGdt.CODE64);
        for (SegmentRegister data : new SegmentRegister[] {SegmentRegister.DS, SegmentRegister.ES,
                SegmentRegister.FS, SegmentRegister.GS, SegmentRegister.SS}) {
            sregs.setSegment(data, BootGdt.DATA);
        }
        sregs.setSegment(SegmentRegister.TR, BootGdt.TSS);
        sregs.setCr3(cr3);
        sregs.setCr4(CR4_PAE);
        sregs.setCr0(CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG);
        sregs.setEfer(EFER_LME | EFER_LMA | EFER_SCE);
    }
}
