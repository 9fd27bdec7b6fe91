package dev.panavisor.kvm.abi;

import static dev.panavisor.sys.Ioctl.io;
import static dev.panavisor.sys.Ioctl.ior;
import static dev.panavisor.sys.Ioctl.iow;
import static dev.panavisor.sys.Ioctl.iowr;

/**
 * The KVM ioctl request numbers Panavisor uses, computed the way include/uapi/linux/kvm.h defines them
 * (type {@link #KVMIO} = 0xAE; sizes from the struct layouts in {@link KvmStructs}).
 * Pinned against the values the C header produces in KvmAbiTest.
 */
public final class KvmIoctls {
    private KvmIoctls() {
    }

    public static final int KVMIO = 0xAE;

    // System ioctls, on the /dev/kvm fd.
    public static final long KVM_GET_API_VERSION = io(KVMIO, 0x00);
    public static final long KVM_CREATE_VM = io(KVMIO, 0x01);
    public static final long KVM_CHECK_EXTENSION = io(KVMIO, 0x03);
    public static final long KVM_GET_VCPU_MMAP_SIZE = io(KVMIO, 0x04);
    /** struct kvm_cpuid2 is a header (nent, padding) followed by a flexible array; the size is the header's. */
    public static final long KVM_GET_SUPPORTED_CPUID = iowr(KVMIO, 0x05, KvmStructs.CPUID2_HEADER.byteSize());

    // VM ioctls, on a VM fd.
    public static final long KVM_CREATE_VCPU = io(KVMIO, 0x41);
    public static final long KVM_SET_USER_MEMORY_REGION =
            iow(KVMIO, 0x46, KvmStructs.USERSPACE_MEMORY_REGION.byteSize());
    public static final long KVM_SET_TSS_ADDR = io(KVMIO, 0x47);
    public static final long KVM_SET_IDENTITY_MAP_ADDR = iow(KVMIO, 0x48, Long.BYTES);
    public static final long KVM_CREATE_IRQCHIP = io(KVMIO, 0x60);
    public static final long KVM_IRQ_LINE = iow(KVMIO, 0x61, KvmStructs.IRQ_LEVEL.byteSize());
    public static final long KVM_REGISTER_COALESCED_MMIO = iow(KVMIO, 0x67, KvmStructs.COALESCED_MMIO_ZONE.byteSize());
    public static final long KVM_IRQFD = iow(KVMIO, 0x76, KvmStructs.IRQFD.byteSize());
    public static final long KVM_CREATE_PIT2 = iow(KVMIO, 0x77, KvmStructs.PIT_CONFIG.byteSize());
    public static final long KVM_IOEVENTFD = iow(KVMIO, 0x79, KvmStructs.IOEVENTFD.byteSize());

    // vCPU ioctls, on a vCPU fd.
    public static final long KVM_RUN = io(KVMIO, 0x80);
    public static final long KVM_GET_REGS = ior(KVMIO, 0x81, KvmStructs.REGS.byteSize());
    public static final long KVM_SET_REGS = iow(KVMIO, 0x82, KvmStructs.REGS.byteSize());
    public static final long KVM_GET_SREGS = ior(KVMIO, 0x83, KvmStructs.SREGS.byteSize());
    public static final long KVM_SET_SREGS = iow(KVMIO, 0x84, KvmStructs.SREGS.byteSize());
    /** struct kvm_signal_mask is {u32 len; u8 sigset[]}: its fixed part is the 4-byte length. */
    public static final long KVM_SET_SIGNAL_MASK = iow(KVMIO, 0x8b, Integer.BYTES);
    public static final long KVM_GET_MSRS = iowr(KVMIO, 0x88, KvmStructs.MSRS_HEADER.byteSize());
    public static final long KVM_SET_MSRS = iow(KVMIO, 0x89, KvmStructs.MSRS_HEADER.byteSize());
    public static final long KVM_GET_FPU = ior(KVMIO, 0x8c, KvmStructs.FPU.byteSize());
    public static final long KVM_SET_FPU = iow(KVMIO, 0x8d, KvmStructs.FPU.byteSize());
    public static final long KVM_GET_LAPIC = ior(KVMIO, 0x8e, KvmStructs.LAPIC_STATE.byteSize());
    public static final long KVM_SET_LAPIC = iow(KVMIO, 0x8f, KvmStructs.LAPIC_STATE.byteSize());
    public static final long KVM_SET_CPUID2 = iow(KVMIO, 0x90, KvmStructs.CPUID2_HEADER.byteSize());

    /** The only KVM API version there has ever been in mainline (Documentation/virt/kvm/api.rst §4.1). */
    public static final int KVM_API_VERSION = 12;
}
