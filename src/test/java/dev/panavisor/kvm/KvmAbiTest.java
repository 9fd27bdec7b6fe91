package dev.panavisor.kvm;

import static dev.panavisor.kvm.abi.KvmStructs.offset;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.kvm.abi.KvmIoctls;
import dev.panavisor.kvm.abi.KvmRunLayout;
import dev.panavisor.kvm.abi.KvmStructs;
import org.junit.jupiter.api.Test;

/**
 * Pins ioctl numbers, struct sizes and field offsets to the values gcc computes from the real
 * &lt;linux/kvm.h&gt; on x86-64 (printed with sizeof/offsetof by a throwaway C program). A mismatch here would
 * otherwise show up as a vCPU with garbage registers.
 */
class KvmAbiTest {
    @Test
    void ioctl_numbers_match_the_c_header() {
        assertEquals(0xae00L, KvmIoctls.KVM_GET_API_VERSION);
        assertEquals(0xae01L, KvmIoctls.KVM_CREATE_VM);
        assertEquals(0xae03L, KvmIoctls.KVM_CHECK_EXTENSION);
        assertEquals(0xae04L, KvmIoctls.KVM_GET_VCPU_MMAP_SIZE);
        assertEquals(0xc008ae05L, KvmIoctls.KVM_GET_SUPPORTED_CPUID);
        assertEquals(0xae41L, KvmIoctls.KVM_CREATE_VCPU);
        assertEquals(0x4020ae46L, KvmIoctls.KVM_SET_USER_MEMORY_REGION);
        assertEquals(0xae47L, KvmIoctls.KVM_SET_TSS_ADDR);
        assertEquals(0x4008ae48L, KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR);
        assertEquals(0xae60L, KvmIoctls.KVM_CREATE_IRQCHIP);
        assertEquals(0x4008ae61L, KvmIoctls.KVM_IRQ_LINE);
        assertEquals(0x4010ae67L, KvmIoctls.KVM_REGISTER_COALESCED_MMIO);
        assertEquals(0x4020ae76L, KvmIoctls.KVM_IRQFD);
        assertEquals(0x4040ae77L, KvmIoctls.KVM_CREATE_PIT2);
        assertEquals(0x4040ae79L, KvmIoctls.KVM_IOEVENTFD);
        assertEquals(0xae80L, KvmIoctls.KVM_RUN);
        assertEquals(0x8090ae81L, KvmIoctls.KVM_GET_REGS);
        assertEquals(0x4090ae82L, KvmIoctls.KVM_SET_REGS);
        assertEquals(0x8138ae83L, KvmIoctls.KVM_GET_SREGS);
        assertEquals(0x4138ae84L, KvmIoctls.KVM_SET_SREGS);
        assertEquals(0xc008ae88L, KvmIoctls.KVM_GET_MSRS);
        assertEquals(0x4008ae89L, KvmIoctls.KVM_SET_MSRS);
        assertEquals(0x81a0ae8cL, KvmIoctls.KVM_GET_FPU);
        assertEquals(0x41a0ae8dL, KvmIoctls.KVM_SET_FPU);
        assertEquals(0x8400ae8eL, KvmIoctls.KVM_GET_LAPIC);
        assertEquals(0x4400ae8fL, KvmIoctls.KVM_SET_LAPIC);
        assertEquals(0x4008ae90L, KvmIoctls.KVM_SET_CPUID2);
    }

    @Test
    void struct_sizes_match_the_c_header() {
        assertEquals(0x90, KvmStructs.REGS.byteSize());
        assertEquals(0x138, KvmStructs.SREGS.byteSize());
        assertEquals(0x18, KvmStructs.SEGMENT.byteSize());
        assertEquals(0x10, KvmStructs.DTABLE.byteSize());
        assertEquals(0x20, KvmStructs.USERSPACE_MEMORY_REGION.byteSize());
        assertEquals(0x28, KvmStructs.CPUID_ENTRY2.byteSize());
        assertEquals(0x1a0, KvmStructs.FPU.byteSize());
        assertEquals(0x400, KvmStructs.LAPIC_STATE.byteSize());
        assertEquals(0x20, KvmStructs.IRQFD.byteSize());
        assertEquals(0x40, KvmStructs.IOEVENTFD.byteSize());
        assertEquals(0x40, KvmStructs.PIT_CONFIG.byteSize());
        assertEquals(0x10, KvmStructs.COALESCED_MMIO_ZONE.byteSize());
        assertEquals(0x18, KvmStructs.COALESCED_MMIO.byteSize());
        assertEquals(12, offset(KvmStructs.COALESCED_MMIO, "pio"));
        assertEquals(16, offset(KvmStructs.COALESCED_MMIO, "data"));
        assertEquals(8, offset(KvmStructs.COALESCED_MMIO, "len"));
        assertEquals(170, CoalescedRing.CAPACITY, "KVM_COALESCED_MMIO_MAX");
        assertEquals(15, dev.panavisor.kvm.abi.KvmCap.COALESCED_MMIO.number());
        assertEquals(162, dev.panavisor.kvm.abi.KvmCap.COALESCED_PIO.number());
        assertEquals(0x10, KvmStructs.MSR_ENTRY.byteSize());
    }

    @Test
    void field_offsets_match_the_c_header() {
        assertEquals(0x80, offset(KvmStructs.REGS, "rip"));
        assertEquals(0x88, offset(KvmStructs.REGS, "rflags"));
        assertEquals(Reg.RIP.offset(), offset(KvmStructs.REGS, "rip"));
        assertEquals(Reg.R15.offset(), offset(KvmStructs.REGS, "r15"));
        assertEquals(0xc0, offset(KvmStructs.SREGS, "gdt"));
        assertEquals(0xd0, offset(KvmStructs.SREGS, "idt"));
        assertEquals(0xe0, offset(KvmStructs.SREGS, "cr0"));
        assertEquals(0x108, offset(KvmStructs.SREGS, "efer"));
        assertEquals(0x110, offset(KvmStructs.SREGS, "apic_base"));
        assertEquals(0x118, offset(KvmStructs.SREGS, "interrupt_bitmap"));
        assertEquals(Sregs.SegmentRegister.LDT.ordinal() * 0x18L, offset(KvmStructs.SREGS, "ldt"));
        assertEquals(0x80, offset(KvmStructs.FPU, "fcw"));
        assertEquals(0x88, offset(KvmStructs.FPU, "last_ip"));
        assertEquals(0x98, offset(KvmStructs.FPU, "xmm"));
        assertEquals(0x198, offset(KvmStructs.FPU, "mxcsr"));
        assertEquals(0x10, offset(KvmStructs.IOEVENTFD, "len"));
        assertEquals(0x14, offset(KvmStructs.IOEVENTFD, "fd"));
        assertEquals(0x18, offset(KvmStructs.IOEVENTFD, "flags"));
        assertEquals(0x18, offset(KvmStructs.USERSPACE_MEMORY_REGION, "userspace_addr"));
    }

    @Test
    void kvm_run_offsets_match_the_c_header() {
        assertEquals(0x1, KvmRunLayout.IMMEDIATE_EXIT);
        assertEquals(0x8, KvmRunLayout.EXIT_REASON);
        assertEquals(0x20, KvmRunLayout.IO_DIRECTION);
        assertEquals(0x22, KvmRunLayout.IO_PORT);
        assertEquals(0x24, KvmRunLayout.IO_COUNT);
        assertEquals(0x28, KvmRunLayout.IO_DATA_OFFSET);
        assertEquals(0x20, KvmRunLayout.MMIO_PHYS_ADDR);
        assertEquals(0x28, KvmRunLayout.MMIO_DATA);
        assertEquals(0x30, KvmRunLayout.MMIO_LEN);
        assertEquals(0x34, KvmRunLayout.MMIO_IS_WRITE);
        assertEquals(0x28, KvmRunLayout.FAIL_ENTRY_CPU);
        assertEquals(0x24, KvmRunLayout.INTERNAL_NDATA);
        assertEquals(0x28, KvmRunLayout.INTERNAL_DATA);
        assertEquals(0x20, KvmRunLayout.SYSTEM_EVENT_TYPE);
        assertEquals(0x28, KvmRunLayout.SYSTEM_EVENT_DATA);
        assertEquals(0x930, KvmRunLayout.SIZE);
    }
}
