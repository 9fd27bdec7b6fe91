package dev.panavisor.memory;

/**
 * Where things live in a Panavisor guest's physical address space: the one table of guest-physical addresses.
 *
 * <p>The low megabyte follows the PC conventions a Linux guest still expects (Linux x86 boot protocol,
 * Documentation/arch/x86/boot.rst, "memory layout"; Intel MultiProcessor Specification 1.4 §4 for where the MP
 * floating pointer may be). Everything Panavisor itself places below 1 MiB sits in the first 640 KiB of
 * conventional memory; 0xA0000-0xFFFFF is the legacy VGA/ROM hole, reported as reserved in the e820 map.
 *
 * <pre>
 * 0x0000_0000  real-mode IVT/BDA (left zero)
 * 0x0000_0500  GDT (boot segments, 7 slots) GDT_ADDRESS
 * 0x0000_0540  IDT (empty, limit 0)         IDT_ADDRESS
 * 0x0000_7000  boot_params ("zero page")    BOOT_PARAMS_ADDRESS
 * 0x0000_8ff0  initial stack pointer        BOOT_STACK_POINTER
 * 0x0000_9000  PML4                          PML4_ADDRESS
 * 0x0000_a000  PDPT                          PDPT_ADDRESS
 * 0x0000_b000  4 page directories (2 MiB pages identity-mapping 0-4 GiB)   PD_ADDRESS
 * 0x0002_0000  kernel command line (max 64 KiB)   CMDLINE_ADDRESS
 * 0x0009_fc00  EBDA: MP floating pointer + MP configuration table          MPTABLE_ADDRESS
 * 0x000a_0000  legacy hole (VGA, option ROMs, BIOS) up to 1 MiB
 * 0x0010_0000  protected-mode kernel (bzImage payload / vmlinux PT_LOADs)  KERNEL_ADDRESS
 * ...          RAM up to min(memory size, MMIO_START); initrd at the top of it
 * 0xd000_0000  virtio-mmio devices, 4 KiB apart  VIRTIO_MMIO_BASE
 * 0xfec0_0000  IOAPIC (in-kernel irqchip)
 * 0xfee0_0000  local APICs
 * 0xfffb_c000  KVM identity-map page (KVM_SET_IDENTITY_MAP_ADDR, VMX only)
 * 0xfffb_d000  KVM TSS (3 pages, KVM_SET_TSS_ADDR, VMX only)
 * </pre>
 */
public final class GuestLayout {
    private GuestLayout() {
    }

    public static final long GDT_ADDRESS = 0x500;
    public static final long IDT_ADDRESS = 0x540;
    public static final long BOOT_PARAMS_ADDRESS = 0x7000;
    public static final long BOOT_STACK_POINTER = 0x8ff0;
    public static final long PML4_ADDRESS = 0x9000;
    public static final long PDPT_ADDRESS = 0xa000;
    /** First of four consecutive page directories. */
    public static final long PD_ADDRESS = 0xb000;
    /** Bytes identity-mapped by the boot page tables (0 .. 4 GiB, with 2 MiB pages). */
    public static final long IDENTITY_MAPPED_BYTES = 4L << 30;

    public static final long CMDLINE_ADDRESS = 0x20000;
    public static final int CMDLINE_MAX_SIZE = 0x10000;

    /** Start of the EBDA; the MP floating pointer lives in its first KiB (MP spec 1.4 §4). */
    public static final long MPTABLE_ADDRESS = 0x9fc00;
    /** End of conventional memory (640 KiB); the legacy hole follows up to 1 MiB. */
    public static final long LOW_MEMORY_END = 0xa0000;
    public static final long HIGH_MEMORY_START = 0x100000;
    /** Where the protected-mode kernel is loaded (boot protocol: code32_start default, 1 MiB). */
    public static final long KERNEL_ADDRESS = 0x100000;

    /** First virtio-mmio device; device i is at VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE. */
    public static final long VIRTIO_MMIO_BASE = 0xd000_0000L;
    public static final long VIRTIO_MMIO_SIZE = 0x1000;
    /** RAM must end at or below this address (no RAM above 4 GiB yet). */
    public static final long RAM_LIMIT = VIRTIO_MMIO_BASE;

    public static final long IOAPIC_ADDRESS = 0xfec0_0000L;
    public static final long LAPIC_ADDRESS = 0xfee0_0000L;
    public static final long KVM_IDENTITY_MAP_ADDRESS = 0xfffb_c000L;
    public static final long KVM_TSS_ADDRESS = 0xfffb_d000L;
}
