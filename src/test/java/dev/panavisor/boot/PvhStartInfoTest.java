package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.HeapGuestMemory;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PvhStartInfoTest {
    private final HeapGuestMemory memory = new HeapGuestMemory(64 << 20);

    @Test
    void writes_a_version_1_start_info_with_the_initrd_module_and_the_memory_map() {
        E820Map map = E820Map.forMemorySize(memory.size());
        long base = PvhStartInfo.write(memory, map, GuestLayout.CMDLINE_ADDRESS,
                Optional.of(new LoadedInitrd(0x3f0_0000, 0x1234)));

        assertEquals(GuestLayout.PVH_START_INFO_ADDRESS, base);
        assertEquals(0x336e_c578L, memory.readU32(base));
        assertEquals(1, memory.readU32(base + 4));
        assertEquals(1, memory.readU32(base + 0x0c), "nr_modules");
        long modlist = memory.readU64(base + 0x10);
        assertEquals(0x3f0_0000, memory.readU64(modlist));
        assertEquals(0x1234, memory.readU64(modlist + 8));
        assertEquals(GuestLayout.CMDLINE_ADDRESS, memory.readU64(base + 0x18));
        assertEquals(0, memory.readU64(base + 0x20), "no ACPI RSDP");
        long memmap = memory.readU64(base + 0x28);
        assertEquals(3, memory.readU32(base + 0x30));
        for (int i = 0; i < 3; i++) {
            E820Map.Entry expected = map.entries().get(i);
            assertEquals(expected.address(), memory.readU64(memmap + 24L * i));
            assertEquals(expected.size(), memory.readU64(memmap + 24L * i + 8));
            assertEquals(expected.type().code, memory.readU32(memmap + 24L * i + 16));
        }
    }

    @Test
    void without_an_initrd_there_are_no_modules() {
        memory.fill(GuestLayout.PVH_START_INFO_ADDRESS, 4096, (byte) 0x77);
        long base = PvhStartInfo.write(memory, E820Map.forMemorySize(memory.size()), GuestLayout.CMDLINE_ADDRESS,
                Optional.empty());
        assertEquals(0, memory.readU32(base + 0x0c));
        assertEquals(0, memory.readU64(base + 0x10));
    }
}
