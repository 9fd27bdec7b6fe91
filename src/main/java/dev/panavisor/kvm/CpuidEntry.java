package dev.panavisor.kvm;

/**
 * One CPUID leaf as KVM describes it (struct kvm_cpuid_entry2): the values CPUID returns for
 * {@code function} (EAX input) and {@code index} (ECX input, when {@link #SIGNIFICANT_INDEX} is set in flags).
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** KVM_CPUID_FLAG_SIGNIFCANT_INDEX: this leaf has sub-leaves selected by ECX. */
    public static final int SIGNIFICANT_INDEX = 1;

    public CpuidEntry withEax(int value) {
        return new CpuidEntry(function, index, flags, value, ebx, ecx, edx);
    }

    public CpuidEntry withEbx(int value) {
        return new CpuidEntry(function, index, flags, eax, value, ecx, edx);
    }

    public CpuidEntry withEcx(int value) {
        return new CpuidEntry(function, index, flags, eax, ebx, value, edx);
    }

    public CpuidEntry withEdx(int value) {
        return new CpuidEntry(function, index, flags, eax, ebx, ecx, value);
    }
}
