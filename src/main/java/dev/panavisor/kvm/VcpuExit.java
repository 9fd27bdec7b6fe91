package dev.panavisor.kvm;

/**
 * Why {@link Vcpu#run()} returned: one record per kvm_run exit reason Panavisor handles
 * (Documentation/virt/kvm/api.rst §5, "kvm_run"). The VMM's run loop is a switch over these.
 *
 * <p>Exits that read (IoIn, MmioRead) carry an {@link ExitData} the VMM fills with the value the guest reads;
 * KVM completes the guest instruction with it on the next {@code KVM_RUN}.
 */
public sealed interface VcpuExit {

    /** {@code in} from a port: fill {@code data} with {@code count} values of {@code size} bytes. */
    record IoIn(int port, int size, int count, ExitData data) implements VcpuExit {
        public void reply(long value) {
            data.set(0, value);
        }
    }

    /** {@code out} to a port: {@code count} values of {@code size} bytes in {@code data}. */
    record IoOut(int port, int size, int count, ExitData data) implements VcpuExit {
        /** The first (usually only) value written. */
        public long value() {
            return data.get(0);
        }
    }

    /** A load from guest-physical {@code address} that no memory slot backs: reply with the value read. */
    record MmioRead(long address, int size, ExitData data) implements VcpuExit {
        public void reply(long value) {
            data.set(0, value);
        }
    }

    /** A store of {@code value} ({@code size} bytes) to guest-physical {@code address} outside memory slots. */
    record MmioWrite(long address, int size, long value) implements VcpuExit {
    }

    /** The guest executed HLT with interrupts it cannot take (no in-kernel irqchip, or HLT exits enabled). */
    record Hlt() implements VcpuExit {
    }

    /** Triple fault or similar: the CPU shut down. */
    record Shutdown() implements VcpuExit {
    }

    /** VM entry failed; {@code hardwareReason} is the VMX/SVM failure code. */
    record FailEntry(long hardwareReason, int cpu) implements VcpuExit {
    }

    /** KVM could not handle something (e.g. instruction emulation failure); {@code suberror} says what. */
    record InternalError(int suberror, long[] data) implements VcpuExit {
        /** KVM_INTERNAL_ERROR_EMULATION */
        public static final int EMULATION = 1;
    }

    /** A platform event: shutdown, reset or crash (e.g. PSCI, or KVM's handling of a guest request). */
    record SystemEvent(int type, long[] data) implements VcpuExit {
    }

    /** KVM_RUN returned early because of a signal or {@code immediate_exit} (EINTR / KVM_EXIT_INTR). */
    record Interrupted() implements VcpuExit {
    }

    /** An exit reason Panavisor does not decode; {@code reason} is kvm_run.exit_reason. */
    record Unknown(int reason) implements VcpuExit {
    }
}
