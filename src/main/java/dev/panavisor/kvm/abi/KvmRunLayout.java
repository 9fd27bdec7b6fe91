package dev.panavisor.kvm.abi;

/**
 * Offsets into struct kvm_run, the page KVM shares with user space through the vCPU fd's mmap
 * (Documentation/virt/kvm/api.rst §5, "The kvm_run structure"). The struct is a fixed header followed by a
 * union whose member depends on {@code exit_reason}; only the members Panavisor decodes are listed.
 * Pinned against the C header in KvmAbiTest.
 */
public final class KvmRunLayout {
    private KvmRunLayout() {
    }

    public static final long IMMEDIATE_EXIT = 0x01;    // __u8
    public static final long EXIT_REASON = 0x08;       // __u32

    /** Start of the exit-specific union. */
    private static final long UNION = 0x20;

    // KVM_EXIT_IO
    public static final long IO_DIRECTION = UNION;          // __u8: 0 in, 1 out
    public static final long IO_SIZE = UNION + 1;           // __u8: 1, 2 or 4
    public static final long IO_PORT = UNION + 2;           // __u16
    public static final long IO_COUNT = UNION + 4;          // __u32: > 1 for rep ins/outs
    public static final long IO_DATA_OFFSET = UNION + 8;    // __u64: from the start of kvm_run

    public static final int IO_DIRECTION_IN = 0;
    public static final int IO_DIRECTION_OUT = 1;

    // KVM_EXIT_MMIO
    public static final long MMIO_PHYS_ADDR = UNION;        // __u64
    public static final long MMIO_DATA = UNION + 8;         // __u8[8]
    public static final long MMIO_LEN = UNION + 16;         // __u32
    public static final long MMIO_IS_WRITE = UNION + 20;    // __u8

    // KVM_EXIT_FAIL_ENTRY
    public static final long FAIL_ENTRY_REASON = UNION;     // __u64 hardware_entry_failure_reason
    public static final long FAIL_ENTRY_CPU = UNION + 8;    // __u32

    // KVM_EXIT_INTERNAL_ERROR
    public static final long INTERNAL_SUBERROR = UNION;     // __u32
    public static final long INTERNAL_NDATA = UNION + 4;    // __u32
    public static final long INTERNAL_DATA = UNION + 8;     // __u64[16]

    // KVM_EXIT_SYSTEM_EVENT
    public static final long SYSTEM_EVENT_TYPE = UNION;     // __u32
    public static final long SYSTEM_EVENT_NDATA = UNION + 4;
    public static final long SYSTEM_EVENT_DATA = UNION + 8; // __u64[16]

    /** Size of struct kvm_run itself; the mapping (KVM_GET_VCPU_MMAP_SIZE) is larger (PIO data pages follow). */
    public static final long SIZE = 0x930;
}
