package dev.panavisor.cpu;

import dev.panavisor.kvm.CpuidEntry;
import dev.panavisor.kvm.Reg;
import dev.panavisor.kvm.Regs;
import dev.panavisor.kvm.Sregs;
import dev.panavisor.kvm.Vcpu;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import java.util.List;

/**
 * Everything a vCPU needs before its first KVM_RUN of a Linux guest. Every vCPU gets its CPUID, MSRs, FPU and local
 * APIC; only the boot processor gets registers: the application processors wait, inside KVM's in-kernel APIC, for
 * the INIT and startup IPIs the kernel sends them (Intel SDM Vol. 3A §8.4, MP initialization).
 */
public final class VcpuSetup {
    private VcpuSetup() {
    }

    /** x87 control word after FNINIT: all exceptions masked, 64-bit precision (Intel SDM Vol. 1 §8.1.5). */
    public static final int FCW_DEFAULT = 0x37f;
    /** MXCSR at reset: all SIMD exceptions masked (Intel SDM Vol. 1 §10.2.3). */
    public static final int MXCSR_DEFAULT = 0x1f80;

    /** Sets CPUID, MSRs, FPU and LAPIC of vCPU {@code index} of {@code count}. */
    public static void configure(Vcpu vcpu, List<CpuidEntry> supportedCpuid, int index, int count) {
        vcpu.setCpuid(CpuidFixups.forVcpu(supportedCpuid, index, count));
        vcpu.setMsrs(BootMsrs.values());
        vcpu.setFpu(FCW_DEFAULT, MXCSR_DEFAULT);
        vcpu.setLapic(LocalApic.withVirtualWire(vcpu.lapic()));
    }

    /**
     * Puts the boot processor in 64-bit mode at {@code entry} with RSI pointing at boot_params, as the Linux 64-bit
     * boot protocol requires (boot.rst, "64-bit boot protocol": identity-mapped paging, flat __BOOT_CS/__BOOT_DS,
     * interrupts disabled, RSI = boot_params).
     */
    public static void enterLinux64(Vcpu vcpu, GuestMemory memory, long entry) {
        Sregs sregs = vcpu.sregs();
        LongMode.enter(memory, sregs);
        vcpu.setSregs(sregs);
        vcpu.setRegs(new Regs()
                .set(Reg.RIP, entry)
                .set(Reg.RSI, GuestLayout.BOOT_PARAMS_ADDRESS)
                .set(Reg.RSP, GuestLayout.BOOT_STACK_POINTER)
                .set(Reg.RBP, GuestLayout.BOOT_STACK_POINTER));
    }
}
