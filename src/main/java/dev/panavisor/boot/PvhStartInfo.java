package dev.panavisor.boot;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import java.util.Optional;

/**
 * Writes the {@code hvm_start_info} block of the Xen PVH boot ABI, the alternative to the zero page for a kernel
 * entered at its {@link LoadedKernel#pvhEntryPoint() PVH entry} (Xen xen/include/public/arch-x86/hvm/start_info.h;
 * the boot ABI in Xen docs/misc/pvh.pandoc). Linux (CONFIG_PVH) reads it in {@code pvh_start_xen} and builds its own
 * boot_params from it.
 *
 * <p>The vCPU must then be in 32-bit protected mode with paging off, flat 4 GiB code and data segments, and EBX =
 * the address returned here (pvh.pandoc, "x86/HVM direct boot ABI"). Setting up that CPU state is the cpu
 * package's job; this class only writes memory.
 *
 * <pre>
 * +0x00  struct hvm_start_info (56 bytes, version 1)
 *          0x00 magic 0x336ec578   0x04 version 1   0x08 flags 0   0x0c nr_modules
 *          0x10 modlist_paddr      0x18 cmdline_paddr              0x20 rsdp_paddr (0: no ACPI)
 *          0x28 memmap_paddr       0x30 memmap_entries             0x34 reserved
 * +0x40  struct hvm_modlist_entry (32 bytes): the initrd, if any: paddr, size, cmdline_paddr 0, reserved
 * +0x80  struct hvm_memmap_table_entry[] (24 bytes each): addr, size, type (e820 numbering), reserved
 * </pre>
 * Version 1 matters: only from version 1 on does the block carry the memory map; a version-0 guest would ask the
 * hypervisor for it with a Xen hypercall that KVM does not have.
 */
public final class PvhStartInfo {
    /** "xEn3" with the 0x80 bit of the "E" set (start_info.h). */
    public static final int MAGIC = 0x336e_c578;
    public static final int VERSION = 1;
    static final int MODLIST_OFFSET = 0x40;
    static final int MEMMAP_OFFSET = 0x80;
    static final int MEMMAP_ENTRY_SIZE = 24;
    static final int MODLIST_ENTRY_SIZE = 32;
    static final int PAGE = 4096;

    private PvhStartInfo() {
    }

    /** Writes the block at {@link GuestLayout#PVH_START_INFO_ADDRESS}; returns that address, for EBX. */
    public static long write(GuestMemory memory, E820Map map, long cmdlineAddress, Optional<LoadedInitrd> initrd) {
        if (MEMMAP_OFFSET + map.entries().size() * MEMMAP_ENTRY_SIZE > PAGE) {
            throw new BootException("memory map too large for the PVH start info page");
        }
        long base = GuestLayout.PVH_START_INFO_ADDRESS;
        memory.fill(base, PAGE, (byte) 0);
        memory.writeU32(base, MAGIC);
        memory.writeU32(base + 0x04, VERSION);
        memory.writeU64(base + 0x18, cmdlineAddress);
        if (initrd.isPresent()) {
            memory.writeU32(base + 0x0c, 1);
            memory.writeU64(base + 0x10, base + MODLIST_OFFSET);
            memory.writeU64(base + MODLIST_OFFSET, initrd.get().address());
            memory.writeU64(base + MODLIST_OFFSET + 8, initrd.get().size());
        }
        memory.writeU64(base + 0x28, base + MEMMAP_OFFSET);
        memory.writeU32(base + 0x30, map.entries().size());
        long entry = base + MEMMAP_OFFSET;
        for (E820Map.Entry e : map.entries()) {
            memory.writeU64(entry, e.address());
            memory.writeU64(entry + 8, e.size());
            memory.writeU32(entry + 16, e.type().code);
            entry += MEMMAP_ENTRY_SIZE;
        }
        return base;
    }
}
