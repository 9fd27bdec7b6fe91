package dev.panavisor.kvm;

/** What implements /dev/kvm on this host, read from the loaded kernel modules. */
public enum KvmBacking {
    /** Intel VT-x (kvm_intel): hardware virtualization, boots Linux guests. */
    INTEL_VMX("hardware (Intel VT-x, kvm_intel)", true),
    /** AMD-V (kvm_amd): hardware virtualization, boots Linux guests. Also what the nested lab's L1 has. */
    AMD_SVM("hardware (AMD-V, kvm_amd)", true),
    /**
     * kvm_pvm: a software-assisted KVM that emulates guest kernel code one instruction at a time. Tiny guests run;
     * Linux does not boot.
     */
    PVM("software-assisted (kvm_pvm): no hardware virtualization", false),
    /** /dev/kvm exists but no known vendor module is loaded (e.g. modules built in, or an unknown backend). */
    UNKNOWN("unknown (no kvm_intel, kvm_amd or kvm_pvm module seen)", false),
    /**
     * A character device that is not KVM's (KVM registers one misc device, 10:232, include/linux/miscdevice.h's
     * KVM_MINOR): the loaded modules say nothing about it.
     */
    NOT_KVM("none (a character device other than KVM's, 10:232)", false),
    /** No /dev/kvm at all. */
    NONE("none (no KVM device)", false);

    private final String description;
    private final boolean hardware;

    KvmBacking(String description, boolean hardware) {
        this.description = description;
        this.hardware = hardware;
    }

    public String description() {
        return description;
    }

    /** True when this backing is hardware-style virtualization that can boot a Linux guest at full speed. */
    public boolean isHardware() {
        return hardware;
    }
}
