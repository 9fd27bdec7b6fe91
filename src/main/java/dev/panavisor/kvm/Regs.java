package dev.panavisor.kvm;

import dev.panavisor.kvm.abi.KvmStructs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A mutable copy of a vCPU's general-purpose registers (struct kvm_regs). Read with {@link Vcpu#regs()},
 * change with {@link #set}, write back with {@link Vcpu#setRegs(Regs)}.
 */
public final class Regs {
    final MemorySegment struct;

    public Regs() {
        this.struct = Arena.ofAuto().allocate(KvmStructs.REGS);
        set(Reg.RFLAGS, 0x2); // bit 1 of RFLAGS is reserved and must be 1 (Intel SDM Vol. 1 §3.4.3)
    }

    public long get(Reg reg) {
        return struct.get(ValueLayout.JAVA_LONG, reg.offset());
    }

    public Regs set(Reg reg, long value) {
        struct.set(ValueLayout.JAVA_LONG, reg.offset(), value);
        return this;
    }
}
