package dev.panavisor.kvm;

import static dev.panavisor.kvm.abi.KvmStructs.SEGMENT;
import static dev.panavisor.kvm.abi.KvmStructs.SREGS;
import static dev.panavisor.kvm.abi.KvmStructs.offset;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A mutable copy of a vCPU's special registers (struct kvm_sregs): segment registers, GDTR/IDTR, control
 * registers and EFER. Read with {@link Vcpu#sregs()}, change, write back with {@link Vcpu#setSregs(Sregs)}:
 * starting from what KVM has keeps the fields Panavisor does not set (APIC base, interrupt bitmap) sane.
 */
public final class Sregs {
    /** The segment registers in struct order. */
    public enum SegmentRegister { CS, DS, ES, FS, GS, SS, TR, LDT }

    private static final long GDT = offset(SREGS, "gdt");
    private static final long IDT = offset(SREGS, "idt");
    private static final long CR0 = offset(SREGS, "cr0");
    private static final long CR3 = offset(SREGS, "cr3");
    private static final long CR4 = offset(SREGS, "cr4");
    private static final long EFER = offset(SREGS, "efer");
    private static final long APIC_BASE = offset(SREGS, "apic_base");

    final MemorySegment struct;

    Sregs() {
        this.struct = Arena.ofAuto().allocate(SREGS);
    }

    public Segment segment(SegmentRegister register) {
        MemorySegment s = struct.asSlice(register.ordinal() * SEGMENT.byteSize(), SEGMENT);
        return new Segment(s.get(ValueLayout.JAVA_LONG, 0), s.get(ValueLayout.JAVA_INT, 8),
                Short.toUnsignedInt(s.get(ValueLayout.JAVA_SHORT, 12)), byteAt(s, 14), byteAt(s, 15) != 0,
                byteAt(s, 16), byteAt(s, 17) != 0, byteAt(s, 18) != 0, byteAt(s, 19) != 0, byteAt(s, 20) != 0,
                byteAt(s, 21) != 0, byteAt(s, 22) != 0);
    }

    public Sregs setSegment(SegmentRegister register, Segment value) {
        MemorySegment s = struct.asSlice(register.ordinal() * SEGMENT.byteSize(), SEGMENT);
        s.set(ValueLayout.JAVA_LONG, 0, value.base());
        s.set(ValueLayout.JAVA_INT, 8, value.limit());
        s.set(ValueLayout.JAVA_SHORT, 12, (short) value.selector());
        s.set(ValueLayout.JAVA_BYTE, 14, (byte) value.type());
        s.set(ValueLayout.JAVA_BYTE, 15, flag(value.present()));
        s.set(ValueLayout.JAVA_BYTE, 16, (byte) value.dpl());
        s.set(ValueLayout.JAVA_BYTE, 17, flag(value.db()));
        s.set(ValueLayout.JAVA_BYTE, 18, flag(value.s()));
        s.set(ValueLayout.JAVA_BYTE, 19, flag(value.l()));
        s.set(ValueLayout.JAVA_BYTE, 20, flag(value.g()));
        s.set(ValueLayout.JAVA_BYTE, 21, flag(value.avl()));
        s.set(ValueLayout.JAVA_BYTE, 22, flag(value.unusable()));
        return this;
    }

    public DescriptorTable gdt() {
        return table(GDT);
    }

    public Sregs setGdt(DescriptorTable table) {
        return setTable(GDT, table);
    }

    public DescriptorTable idt() {
        return table(IDT);
    }

    public Sregs setIdt(DescriptorTable table) {
        return setTable(IDT, table);
    }

    public long cr0() {
        return struct.get(ValueLayout.JAVA_LONG, CR0);
    }

    public Sregs setCr0(long value) {
        struct.set(ValueLayout.JAVA_LONG, CR0, value);
        return this;
    }

    public long cr3() {
        return struct.get(ValueLayout.JAVA_LONG, CR3);
    }

    public Sregs setCr3(long value) {
        struct.set(ValueLayout.JAVA_LONG, CR3, value);
        return this;
    }

    public long cr4() {
        return struct.get(ValueLayout.JAVA_LONG, CR4);
    }

    public Sregs setCr4(long value) {
        struct.set(ValueLayout.JAVA_LONG, CR4, value);
        return this;
    }

    public long efer() {
        return struct.get(ValueLayout.JAVA_LONG, EFER);
    }

    public Sregs setEfer(long value) {
        struct.set(ValueLayout.JAVA_LONG, EFER, value);
        return this;
    }

    public long apicBase() {
        return struct.get(ValueLayout.JAVA_LONG, APIC_BASE);
    }

    private DescriptorTable table(long offset) {
        return new DescriptorTable(struct.get(ValueLayout.JAVA_LONG, offset),
                Short.toUnsignedInt(struct.get(ValueLayout.JAVA_SHORT, offset + 8)));
    }

    private Sregs setTable(long offset, DescriptorTable table) {
        struct.set(ValueLayout.JAVA_LONG, offset, table.base());
        struct.set(ValueLayout.JAVA_SHORT, offset + 8, (short) table.limit());
        return this;
    }

    private static int byteAt(MemorySegment s, long offset) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, offset));
    }

    private static byte flag(boolean value) {
        return (byte) (value ? 1 : 0);
    }
}
