package dev.panavisor.cpu;

import dev.panavisor.memory.GuestMemory;

/**
 * Four-level page tables that map virtual address = physical address for the first {@code bytes} of the address
 * space, with 2 MiB pages: one PML4 entry, one PDPT with an entry per GiB, and one page directory per GiB.
 * Long mode cannot be entered with paging off (Intel SDM Vol. 3A §9.8.5), and the Linux 64-bit boot protocol asks
 * for an identity mapping of the kernel, boot_params and command line (boot.rst, "64-bit boot protocol").
 *
 * <p>Entry format: Intel SDM Vol. 3A §4.5, Tables 4-15 (PML4E), 4-16 (PDPTE), 4-18 (PDE mapping a 2 MiB page).
 */
public final class IdentityPageTables {
    private IdentityPageTables() {
    }

    static final long PRESENT = 1L;
    static final long WRITABLE = 1L << 1;
    static final long PAGE_SIZE_2M = 1L << 7; // PS bit in a PDE: this entry maps a 2 MiB page
    static final long TWO_MIB = 2L << 20;
    static final long ONE_GIB = 1L << 30;

    /**
     * Writes the tables at pml4, pdpt and pd (pd = first of {@code bytes / 1 GiB} consecutive 4 KiB pages) and
     * returns the value for CR3.
     */
    public static long write(GuestMemory memory, long pml4, long pdpt, long pd, long bytes) {
        if (bytes <= 0 || bytes % ONE_GIB != 0 || bytes > 512 * ONE_GIB) {
            throw new CpuException("identity map size must be a whole number of GiB up to 512, got " + bytes);
        }
        int directories = (int) (bytes / ONE_GIB);
        memory.checkRange(pml4, 4096);
        memory.checkRange(pdpt, 4096);
        memory.checkRange(pd, 4096L * directories);
        memory.fill(pml4, 4096, (byte) 0);
        memory.fill(pdpt, 4096, (byte) 0);
        memory.writeU64(pml4, pdpt | PRESENT | WRITABLE);
        for (int g = 0; g < directories; g++) {
            long directory = pd + g * 4096L;
            memory.writeU64(pdpt + g * 8L, directory | PRESENT | WRITABLE);
            for (int i = 0; i < 512; i++) {
                long physical = g * ONE_GIB + i * TWO_MIB;
                memory.writeU64(directory + i * 8L, physical | PRESENT | WRITABLE | PAGE_SIZE_2M);
            }
        }
        return pml4;
    }
}
