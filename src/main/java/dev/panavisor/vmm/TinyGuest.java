package dev.panavisor.vmm;

import dev.panavisor.cpu.LongMode;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.Reg;
import dev.panavisor.kvm.Regs;
import dev.panavisor.kvm.Segment;
import dev.panavisor.kvm.Sregs;
import dev.panavisor.kvm.Sregs.SegmentRegister;
import dev.panavisor.kvm.Vcpu;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.kvm.Vm;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.MappedGuestMemory;

/**
 * The smallest possible VM: 2 MiB of memory, one vCPU, a few bytes of machine code, no devices. The whole KVM
 * sequence in one file — open /dev/kvm, create a VM, give it memory, create a vCPU, set its registers, run it and
 * look at each exit — which is why {@code docs/kvm-api.md} walks through it. {@code panavisor check} and the
 * tests use it to prove that KVM really runs guest code, and the exit benchmark uses it to time the run loop.
 */
public final class TinyGuest implements AutoCloseable {
    /** Where the program is copied; below the boot structures in {@link GuestLayout}. */
    public static final long LOAD_ADDRESS = 0x1000;
    public static final long MEMORY_SIZE = 2L << 20;

    private final Vm vm;
    private final MappedGuestMemory memory;
    private final Vcpu vcpu;

    private TinyGuest(Kvm kvm, byte[] program) {
        if (program.length > GuestLayout.BOOT_PARAMS_ADDRESS - LOAD_ADDRESS) {
            throw new IllegalArgumentException("tiny guest program too large: " + program.length + " bytes");
        }
        Vm createdVm = kvm.createVm();
        MappedGuestMemory createdMemory = null;
        try {
            createdMemory = MappedGuestMemory.allocate(MEMORY_SIZE);
            createdVm.setUserMemoryRegion(0, 0, createdMemory.hostSegment());
            createdMemory.write(LOAD_ADDRESS, program);
            this.vcpu = createdVm.createVcpu(0);
        } catch (RuntimeException e) {
            createdVm.close();
            if (createdMemory != null) {
                createdMemory.close();
            }
            throw e;
        }
        this.vm = createdVm;
        this.memory = createdMemory;
    }

    /**
     * A guest that starts in 16-bit real mode at {@link #LOAD_ADDRESS}: CS base 0, so IP = the load address.
     * (A fresh vCPU starts at the reset vector, CS base 0xffff0000, IP 0xfff0; we skip the firmware.)
     */
    public static TinyGuest realMode(Kvm kvm, byte[] program) {
        TinyGuest guest = new TinyGuest(kvm, program);
        try {
            Sregs sregs = guest.vcpu.sregs();
            Segment cs = sregs.segment(SegmentRegister.CS);
            sregs.setSegment(SegmentRegister.CS, new Segment(0, cs.limit(), 0, cs.type(), cs.present(), cs.dpl(),
                    cs.db(), cs.s(), cs.l(), cs.g(), cs.avl(), cs.unusable()));
            guest.vcpu.setSregs(sregs);
            guest.vcpu.setRegs(new Regs().set(Reg.RIP, LOAD_ADDRESS));
            return guest;
        } catch (RuntimeException e) {
            guest.close();
            throw e;
        }
    }

    /**
     * A guest that starts in 64-bit long mode at {@link #LOAD_ADDRESS}, with the boot GDT and identity page tables
     * written by {@link LongMode} — the same code that enters the Linux kernel.
     */
    public static TinyGuest longMode(Kvm kvm, byte[] program) {
        TinyGuest guest = new TinyGuest(kvm, program);
        try {
            Sregs sregs = guest.vcpu.sregs();
            LongMode.enter(guest.memory, sregs);
            guest.vcpu.setSregs(sregs);
            guest.vcpu.setRegs(new Regs()
                    .set(Reg.RIP, LOAD_ADDRESS)
                    .set(Reg.RSP, GuestLayout.BOOT_STACK_POINTER));
            return guest;
        } catch (RuntimeException e) {
            guest.close();
            throw e;
        }
    }

    /** Runs until the next exit. For IoIn/MmioRead, reply on the exit before calling run again. */
    public VcpuExit run() {
        return vcpu.run();
    }

    public Vcpu vcpu() {
        return vcpu;
    }

    public Vm vm() {
        return vm;
    }

    public MappedGuestMemory memory() {
        return memory;
    }

    @Override
    public void close() {
        vm.close();
        memory.close();
    }
}
