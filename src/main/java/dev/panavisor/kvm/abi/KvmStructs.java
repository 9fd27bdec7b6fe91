package dev.panavisor.kvm.abi;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * Memory layouts of the KVM structs Panavisor passes to ioctls, written from include/uapi/linux/kvm.h and
 * arch/x86/include/uapi/asm/kvm.h (x86-64). Sizes and offsets are pinned in KvmAbiTest against the values a C
 * compiler gives for the real header, so a mistake here fails a test rather than corrupting a vCPU.
 */
public final class KvmStructs {
    private KvmStructs() {
    }

    private static MemoryLayout u8(String name) {
        return JAVA_BYTE.withName(name);
    }

    private static MemoryLayout u16(String name) {
        return JAVA_SHORT.withName(name);
    }

    private static MemoryLayout u32(String name) {
        return JAVA_INT.withName(name);
    }

    private static MemoryLayout u64(String name) {
        return JAVA_LONG.withName(name);
    }

    /** struct kvm_regs: the 16 general-purpose registers, then rip and rflags (order as {@code Reg}). */
    public static final StructLayout REGS = structLayout(
            u64("rax"), u64("rbx"), u64("rcx"), u64("rdx"), u64("rsi"), u64("rdi"), u64("rsp"), u64("rbp"),
            u64("r8"), u64("r9"), u64("r10"), u64("r11"), u64("r12"), u64("r13"), u64("r14"), u64("r15"),
            u64("rip"), u64("rflags"));

    /** struct kvm_segment: a segment register's hidden (descriptor-cache) state. */
    public static final StructLayout SEGMENT = structLayout(
            u64("base"), u32("limit"), u16("selector"), u8("type"), u8("present"), u8("dpl"), u8("db"), u8("s"),
            u8("l"), u8("g"), u8("avl"), u8("unusable"), paddingLayout(1));

    /** struct kvm_dtable: GDTR/IDTR. */
    public static final StructLayout DTABLE = structLayout(u64("base"), u16("limit"), paddingLayout(6));

    /** struct kvm_sregs: segment registers, descriptor tables, control registers, EFER, APIC base. */
    public static final StructLayout SREGS = structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"), SEGMENT.withName("fs"),
            SEGMENT.withName("gs"), SEGMENT.withName("ss"), SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            u64("cr0"), u64("cr2"), u64("cr3"), u64("cr4"), u64("cr8"), u64("efer"), u64("apic_base"),
            sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));

    /** struct kvm_userspace_memory_region. */
    public static final StructLayout USERSPACE_MEMORY_REGION = structLayout(
            u32("slot"), u32("flags"), u64("guest_phys_addr"), u64("memory_size"), u64("userspace_addr"));

    /** struct kvm_cpuid_entry2. */
    public static final StructLayout CPUID_ENTRY2 = structLayout(
            u32("function"), u32("index"), u32("flags"), u32("eax"), u32("ebx"), u32("ecx"), u32("edx"),
            sequenceLayout(3, JAVA_INT).withName("padding"));

    /** The fixed part of struct kvm_cpuid2 (entries follow). */
    public static final StructLayout CPUID2_HEADER = structLayout(u32("nent"), u32("padding"));

    /** struct kvm_msr_entry. */
    public static final StructLayout MSR_ENTRY = structLayout(u32("index"), u32("reserved"), u64("data"));

    /** The fixed part of struct kvm_msrs (entries follow). */
    public static final StructLayout MSRS_HEADER = structLayout(u32("nmsrs"), u32("pad"));

    /** struct kvm_fpu: x87 state, XMM registers and MXCSR, as in the FXSAVE image. */
    public static final StructLayout FPU = structLayout(
            sequenceLayout(8 * 16, JAVA_BYTE).withName("fpr"), u16("fcw"), u16("fsw"), u8("ftwx"),
            paddingLayout(1), u16("last_opcode"), u64("last_ip"), u64("last_dp"),
            sequenceLayout(16 * 16, JAVA_BYTE).withName("xmm"), u32("mxcsr"), paddingLayout(4));

    /** struct kvm_lapic_state: the 1 KiB local APIC register page. */
    public static final StructLayout LAPIC_STATE = structLayout(sequenceLayout(1024, JAVA_BYTE).withName("regs"));

    /** struct kvm_irq_level (irq, level). */
    public static final StructLayout IRQ_LEVEL = structLayout(u32("irq"), u32("level"));

    /** struct kvm_irqfd. */
    public static final StructLayout IRQFD = structLayout(
            u32("fd"), u32("gsi"), u32("flags"), u32("resamplefd"), paddingLayout(16));

    /** struct kvm_ioeventfd. */
    public static final StructLayout IOEVENTFD = structLayout(
            u64("datamatch"), u64("addr"), u32("len"), u32("fd"), u32("flags"), paddingLayout(36));

    /** The page size of the vCPU's mmap area (kvm_run is page 0; the coalesced ring is a page of its own). */
    public static final long PAGE_SIZE = 4096;

    /** struct kvm_coalesced_mmio_zone: a range whose writes KVM records in the coalesced ring; pio 1 for ports. */
    public static final StructLayout COALESCED_MMIO_ZONE = structLayout(u64("addr"), u32("size"), u32("pio"));

    /**
     * struct kvm_coalesced_mmio: one recorded write (the ring, struct kvm_coalesced_mmio_ring, is a u32 first, a u32
     * last, then KVM_COALESCED_MMIO_MAX of these in one page).
     */
    public static final StructLayout COALESCED_MMIO = structLayout(
            u64("phys_addr"), u32("len"), u32("pio"), sequenceLayout(8, JAVA_BYTE).withName("data"));

    /** struct kvm_pit_config. */
    public static final StructLayout PIT_CONFIG = structLayout(u32("flags"), paddingLayout(60));

    /** Offset of a named field, for layouts above: {@code offset(SREGS, "cr0")}. */
    public static long offset(StructLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = MemoryLayout.PathElement.groupElement(path[i]);
        }
        return layout.byteOffset(elements);
    }
}
