package dev.panavisor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.HeapGuestMemory;
import org.junit.jupiter.api.Test;

class BootGdtTest {
    @Test
    void descriptors_encode_the_flat_segments_linux_expects() {
        // Well-known encodings of flat descriptors (Intel SDM Vol. 3A Figure 3-8):
        // 64-bit code: limit 0xfffff, G=1, L=1, P=1, S=1, type 0xb.
        assertEquals(0x00af_9b00_0000_ffffL, BootGdt.descriptor(BootGdt.CODE64));
        // 32-bit code: G=1, D=1.
        assertEquals(0x00cf_9b00_0000_ffffL, BootGdt.descriptor(BootGdt.CODE32));
        // Data: G=1, B=1, type 3.
        assertEquals(0x00cf_9300_0000_ffffL, BootGdt.descriptor(BootGdt.DATA));
    }

    @Test
    void gdt_is_written_at_the_layout_address_with_selectors_matching_indices() {
        HeapGuestMemory memory = new HeapGuestMemory(1 << 20);
        int limit = BootGdt.write(memory, GuestLayout.GDT_ADDRESS);
        assertEquals(BootGdt.ENTRIES * 8 - 1, limit);
        assertEquals(0, memory.readU64(GuestLayout.GDT_ADDRESS));
        assertEquals(BootGdt.descriptor(BootGdt.CODE64),
                memory.readU64(GuestLayout.GDT_ADDRESS + BootGdt.CODE64.selector()));
        assertEquals(BootGdt.descriptor(BootGdt.DATA),
                memory.readU64(GuestLayout.GDT_ADDRESS + BootGdt.DATA.selector()));
        assertEquals(0x10, BootGdt.CODE64.selector());
        assertEquals(0x18, BootGdt.DATA.selector());
    }
}
