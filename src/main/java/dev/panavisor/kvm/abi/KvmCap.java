package dev.panavisor.kvm.abi;

/**
 * KVM capabilities Panavisor asks about with KVM_CHECK_EXTENSION (numbers from include/uapi/linux/kvm.h),
 * each with why Panavisor wants it.
 */
public enum KvmCap {
    IRQCHIP(0, true, "in-kernel PIC, IOAPIC and local APICs"),
    HLT(1, false, "HLT exits to user space"),
    USER_MEMORY(3, true, "guest memory from user-space mappings (KVM_SET_USER_MEMORY_REGION)"),
    SET_TSS_ADDR(4, true, "TSS placement (needed by Intel VT-x)"),
    EXT_CPUID(7, true, "KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2"),
    NR_VCPUS(9, false, "recommended number of vCPUs"),
    COALESCED_MMIO(15, false, "writes recorded in a ring instead of exiting; the answer is the ring's page offset"),
    IRQ_ROUTING(25, false, "GSI routing"),
    IRQFD(32, true, "interrupts injected from an eventfd"),
    PIT2(33, true, "in-kernel i8254 timer (KVM_CREATE_PIT2)"),
    IOEVENTFD(36, false, "guest notifications signalled on an eventfd without an exit to user space"),
    SET_IDENTITY_MAP_ADDR(37, false, "identity-map page placement (Intel VT-x)"),
    ADJUST_CLOCK(39, false, "kvmclock adjustment"),
    MAX_VCPUS(66, false, "maximum number of vCPUs"),
    TSC_DEADLINE_TIMER(72, false, "the local APIC's TSC-deadline timer (its CPUID bit is the VMM's to set)"),
    SPLIT_IRQCHIP(121, false, "IOAPIC in user space, LAPIC in kernel"),
    IMMEDIATE_EXIT(136, true, "kvm_run.immediate_exit, to stop a vCPU without a race"),
    COALESCED_PIO(162, false, "port writes recorded in the coalesced ring too (the 8250's transmit register)");

    private final int number;
    private final boolean required;
    private final String purpose;

    KvmCap(int number, boolean required, String purpose) {
        this.number = number;
        this.required = required;
        this.purpose = purpose;
    }

    public int number() {
        return number;
    }

    /** Whether Panavisor refuses to run a Linux guest without it. */
    public boolean required() {
        return required;
    }

    public String purpose() {
        return purpose;
    }
}
