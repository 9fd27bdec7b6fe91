package dev.panavisor.cpu;

import dev.panavisor.kvm.CpuidEntry;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.abi.KvmCap;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns the CPUID leaves KVM supports (KVM_GET_SUPPORTED_CPUID) into what one vCPU of a Panavisor guest should
 * see. KVM's list describes what the host could offer, not a particular virtual CPU, so a few leaves need the
 * vCPU's identity written in:
 *
 * <ul>
 *   <li>Leaf 1 EBX[31:24], the initial APIC ID, and leaf 0xB/0x1F EDX, the x2APIC ID: the vCPU's index, matching
 *       the local APIC ID the in-kernel irqchip gives it and the MP table lists (Intel SDM Vol. 2A, CPUID).</li>
 *   <li>Leaf 1 EBX[23:16], logical processors per package, with ECX bit 31 (the "hypervisor present" bit,
 *       reserved for hypervisors by both vendors) set so the guest looks for hypervisor leaves.</li>
 *   <li>Leaf 0x40000000 onwards: KVM's own leaves ("KVMKVMKVM" signature, paravirtual features such as
 *       kvm-clock) come from KVM as they are; Linux's KVM_GUEST support finds kvm-clock there.</li>
 *   <li>Leaf 0xA (architectural performance monitoring) is cleared, and leaf 6 (thermal and power) too but for one
 *       bit: the guest has no such hardware to drive.</li>
 *   <li>That bit is leaf 6 EAX[2], ARAT, "APIC timer always running" (Intel SDM Vol. 2A, CPUID leaf 06H): the
 *       local APIC timer keeps counting in deep C-states. KVM's APIC timer is emulated, so it always does, and KVM
 *       lists the bit itself; QEMU sets it for KVM guests too. It matters at boot: Linux treats a CPU without ARAT
 *       as needing the PIT (arch/x86/kernel/apic/apic.c, apic_needs_pit: "virt guests may lack ARAT, but still
 *       have DEADLINE"), so it keeps the i8254 as its global clock event, checks that the PIT's interrupt reaches
 *       the IO-APIC at boot (io_apic.c, check_timer: ten timer ticks waited for), and takes PIT interrupts. With
 *       the bit set, the PIT is stopped instead and the TSC-deadline timer (below) does all the work.</li>
 * </ul>
 *
 * <p>One bit KVM can offer but never lists: leaf 1 ECX[24], the local APIC's TSC-deadline timer mode. KVM emulates
 * it in its in-kernel APIC and says so through KVM_CAP_TSC_DEADLINE_TIMER instead (Documentation/virt/kvm/api.rst,
 * KVM_GET_SUPPORTED_CPUID), so {@link #supported} adds it. Without it Linux must calibrate the APIC timer against the
 * PIT at boot (arch/x86/kernel/apic/apic.c, calibrate_APIC_clock: a tenth of a second of ticks, far longer under
 * nested virtualization); with it, the timer counts in TSC cycles, whose rate kvm-clock already gives.
 */
public final class CpuidFixups {
    private CpuidFixups() {
    }

    static final int LEAF_FEATURES = 0x1;
    static final int LEAF_THERMAL_POWER = 0x6;
    static final int LEAF_PERFORMANCE_MONITORING = 0xa;
    static final int LEAF_TOPOLOGY = 0xb;
    static final int LEAF_TOPOLOGY_V2 = 0x1f;
    static final int ECX_HYPERVISOR = 1 << 31;
    /** Intel SDM Vol. 2A, CPUID leaf 06H EAX bit 2: the APIC timer runs at a constant rate in every C-state. */
    static final int EAX_ARAT = 1 << 2;

    /** Intel SDM Vol. 2A, CPUID leaf 1 ECX bit 24: TSC-deadline mode of the local APIC timer. */
    static final int ECX_TSC_DEADLINE = 1 << 24;

    /** What this KVM can present to a guest: KVM_GET_SUPPORTED_CPUID, plus the TSC-deadline bit when KVM has it. */
    public static List<CpuidEntry> supported(Kvm kvm) {
        return withTscDeadline(kvm.supportedCpuid(), kvm.has(KvmCap.TSC_DEADLINE_TIMER));
    }

    static List<CpuidEntry> withTscDeadline(List<CpuidEntry> supported, boolean tscDeadline) {
        if (!tscDeadline) {
            return supported;
        }
        return supported.stream().map(entry -> entry.function() == LEAF_FEATURES
                ? entry.withEcx(entry.ecx() | ECX_TSC_DEADLINE) : entry).toList();
    }

    /** The CPUID table for vCPU {@code vcpuIndex} of {@code vcpuCount}. */
    public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int vcpuIndex, int vcpuCount) {
        if (vcpuCount < 1 || vcpuCount > 255 || vcpuIndex < 0 || vcpuIndex >= vcpuCount) {
            throw new CpuException("bad vCPU index " + vcpuIndex + " of " + vcpuCount);
        }
        List<CpuidEntry> result = new ArrayList<>(supported.size());
        for (CpuidEntry entry : supported) {
            result.add(switch (entry.function()) {
                case LEAF_FEATURES -> {
                    int ebx = entry.ebx() & 0x0000_ffff;
                    ebx |= vcpuIndex << 24;
                    ebx |= (vcpuCount & 0xff) << 16;
                    yield entry.withEbx(ebx).withEcx(entry.ecx() | ECX_HYPERVISOR);
                }
                case LEAF_TOPOLOGY, LEAF_TOPOLOGY_V2 -> entry.withEdx(vcpuIndex);
                case LEAF_THERMAL_POWER -> entry.withEax(EAX_ARAT).withEbx(0).withEcx(0).withEdx(0);
                case LEAF_PERFORMANCE_MONITORING -> entry.withEax(0).withEbx(0).withEcx(0).withEdx(0);
                default -> entry;
            });
        }
        return result;
    }
}
