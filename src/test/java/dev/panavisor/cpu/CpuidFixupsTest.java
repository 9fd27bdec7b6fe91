package dev.panavisor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panavisor.kvm.CpuidEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

class CpuidFixupsTest {
    static final List<CpuidEntry> SUPPORTED = List.of(
            new CpuidEntry(0x0, 0, 0, 0xd, 0x756e_6547, 0x6c65_746e, 0x4965_6e69),
            // leaf 1 as a host might report it: APIC ID 7 and 16 logical CPUs in EBX, no hypervisor bit.
            new CpuidEntry(0x1, 0, 0, 0x000a_0671, 0x0710_0800, 0x7ffa_3223, 0x0f8b_fbff),
            // leaf 6 as a host might report it (digital thermal sensor, turbo, ARAT, ...); KVM itself lists 0x4 there.
            new CpuidEntry(0x6, 0, 0, 0x77, 0x2, 0x9, 0x0),
            new CpuidEntry(0xa, 0, 0, 0x0704_0002, 0, 0, 0x603),
            new CpuidEntry(0xb, 0, 1, 0x1, 0x1, 0x100, 0x7),
            new CpuidEntry(0xb, 1, 1, 0x4, 0x2, 0x201, 0x7),
            new CpuidEntry(0x4000_0000, 0, 0, 0x4000_0001, 0x4b4d_564b, 0x564b_4d56, 0x4d));

    static CpuidEntry leaf(List<CpuidEntry> entries, int function, int index) {
        return entries.stream().filter(e -> e.function() == function && e.index() == index).findFirst()
                .orElseThrow();
    }

    @Test
    void leaf_1_carries_this_vcpus_apic_id_the_cpu_count_and_the_hypervisor_bit() {
        List<CpuidEntry> cpu2 = CpuidFixups.forVcpu(SUPPORTED, 2, 4);
        CpuidEntry features = leaf(cpu2, 1, 0);
        assertEquals(2, features.ebx() >>> 24);
        assertEquals(4, (features.ebx() >>> 16) & 0xff);
        assertEquals(0x0800, features.ebx() & 0xffff, "CLFLUSH size and brand index kept");
        assertNotEquals(0, features.ecx() & (1 << 31));
        assertEquals(0x7ffa_3223, features.ecx() & ~(1 << 31), "other feature bits untouched");
        assertEquals(2, leaf(cpu2, 0xb, 0).edx());
        assertEquals(2, leaf(cpu2, 0xb, 1).edx());
    }

    @Test
    void power_and_perfmon_leaves_are_cleared_but_for_the_always_running_apic_timer_and_others_kept() {
        List<CpuidEntry> cpu0 = CpuidFixups.forVcpu(SUPPORTED, 0, 1);
        assertEquals(new CpuidEntry(0x6, 0, 0, 0x4, 0, 0, 0), leaf(cpu0, 0x6, 0), "ARAT only");
        List<CpuidEntry> withoutArat = SUPPORTED.stream()
                .map(e -> e.function() == 0x6 ? e.withEax(0) : e).toList();
        assertEquals(0x4, leaf(CpuidFixups.forVcpu(withoutArat, 0, 1), 0x6, 0).eax(),
                "set even where the list lacks it: KVM's APIC timer never stops");
        assertEquals(new CpuidEntry(0xa, 0, 0, 0, 0, 0, 0), leaf(cpu0, 0xa, 0));
        assertEquals(SUPPORTED.get(0), leaf(cpu0, 0, 0));
        assertEquals(SUPPORTED.get(6), leaf(cpu0, 0x4000_0000, 0), "KVM's own leaves pass through");
        assertEquals(SUPPORTED.size(), cpu0.size());
    }

    @Test
    void impossible_indices_are_rejected() {
        assertThrows(CpuException.class, () -> CpuidFixups.forVcpu(SUPPORTED, 4, 4));
        assertThrows(CpuException.class, () -> CpuidFixups.forVcpu(SUPPORTED, 0, 0));
    }

    @Test
    void the_tsc_deadline_bit_is_added_to_leaf_1_only_when_kvm_has_the_timer() {
        int before = leaf(SUPPORTED, 0x1, 0).ecx();
        List<CpuidEntry> with = CpuidFixups.withTscDeadline(SUPPORTED, true);
        assertEquals(before | (1 << 24), leaf(with, 0x1, 0).ecx());
        assertEquals(leaf(SUPPORTED, 0x1, 0).withEcx(before | (1 << 24)), leaf(with, 0x1, 0), "only ECX[24]");
        assertEquals(SUPPORTED.size(), with.size());
        assertEquals(SUPPORTED, CpuidFixups.withTscDeadline(SUPPORTED, false));
        // and vCPU fix-ups keep it
        assertEquals(1 << 24, leaf(CpuidFixups.forVcpu(with, 0, 1), 0x1, 0).ecx() & (1 << 24));
    }
}
