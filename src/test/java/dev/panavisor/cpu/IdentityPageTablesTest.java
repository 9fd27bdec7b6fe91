package dev.panavisor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import dev.panavisor.memory.HeapGuestMemory;
import org.junit.jupiter.api.Test;

class IdentityPageTablesTest {
    /** Walks the tables like the MMU does for a 2 MiB page (Intel SDM Vol. 3A §4.5.4) and returns the physical address. */
    static long translate(GuestMemory memory, long cr3, long virtual) {
        long pml4e = memory.readU64((cr3 & ~0xfffL) + ((virtual >>> 39) & 0x1ff) * 8);
        if ((pml4e & 1) == 0) {
            return -1;
        }
        long pdpte = memory.readU64((pml4e & 0xf_ffff_ffff_f000L) + ((virtual >>> 30) & 0x1ff) * 8);
        if ((pdpte & 1) == 0) {
            return -1;
        }
        long pde = memory.readU64((pdpte & 0xf_ffff_ffff_f000L) + ((virtual >>> 21) & 0x1ff) * 8);
        if ((pde & 1) == 0 || (pde & (1 << 7)) == 0) {
            return -1;
        }
        return (pde & 0xf_ffff_ffe0_0000L) | (virtual & 0x1f_ffff);
    }

    @Test
    void every_address_below_four_gib_maps_to_itself() {
        HeapGuestMemory memory = new HeapGuestMemory(1 << 20);
        long cr3 = IdentityPageTables.write(memory, GuestLayout.PML4_ADDRESS, GuestLayout.PDPT_ADDRESS,
                GuestLayout.PD_ADDRESS, GuestLayout.IDENTITY_MAPPED_BYTES);
        assertEquals(GuestLayout.PML4_ADDRESS, cr3);
        for (long address : new long[] {0, 0x1000, 0x1f_ffff, 0x20_0000, 0x1234_5678L, 0xd000_0008L,
                0xfee0_0000L, 0xffff_ffffL}) {
            assertEquals(address, translate(memory, cr3, address), Long.toHexString(address));
        }
        assertEquals(-1, translate(memory, cr3, 1L << 32), "nothing above 4 GiB is mapped");
    }

    @Test
    void tables_that_do_not_fit_in_memory_are_an_error_not_a_partial_write() {
        HeapGuestMemory memory = new HeapGuestMemory(0xc000);
        assertThrows(GuestMemoryException.class, () -> IdentityPageTables.write(memory, GuestLayout.PML4_ADDRESS,
                GuestLayout.PDPT_ADDRESS, GuestLayout.PD_ADDRESS, GuestLayout.IDENTITY_MAPPED_BYTES));
        assertEquals(0, memory.readU64(GuestLayout.PML4_ADDRESS));
        assertThrows(CpuException.class, () -> IdentityPageTables.write(memory, 0, 0, 0, 12345));
    }
}
