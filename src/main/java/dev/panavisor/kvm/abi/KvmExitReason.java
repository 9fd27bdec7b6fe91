package dev.panavisor.kvm.abi;

/** Values of kvm_run.exit_reason (include/uapi/linux/kvm.h, KVM_EXIT_*), the ones Panavisor decodes. */
public final class KvmExitReason {
    private KvmExitReason() {
    }

    public static final int UNKNOWN = 0;
    public static final int EXCEPTION = 1;
    public static final int IO = 2;
    public static final int HYPERCALL = 3;
    public static final int DEBUG = 4;
    public static final int HLT = 5;
    public static final int MMIO = 6;
    public static final int IRQ_WINDOW_OPEN = 7;
    public static final int SHUTDOWN = 8;
    public static final int FAIL_ENTRY = 9;
    public static final int INTR = 10;
    public static final int INTERNAL_ERROR = 17;
    public static final int SYSTEM_EVENT = 24;

    /** kvm_run.system_event.type values. */
    public static final int SYSTEM_EVENT_SHUTDOWN = 1;
    public static final int SYSTEM_EVENT_RESET = 2;
    public static final int SYSTEM_EVENT_CRASH = 3;
}
