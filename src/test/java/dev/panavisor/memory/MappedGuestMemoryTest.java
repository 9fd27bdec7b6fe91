package dev.panavisor.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

class MappedGuestMemoryTest {
    private static final long MIB = 1 << 20;

    @Test
    void populate_faults_in_exactly_its_range_and_keeps_what_it_holds() {
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(64 * MIB)) {
            long base = memory.hostSegment().address();
            memory.writeU64(48 * MIB + 8, 0x1122334455667788L);
            assertEquals(0, Pagemap.residentPages(base, 32 * MIB), "a fresh mapping is not resident");
            assertFalse(Pagemap.allResident(base + 32 * MIB, 32 * MIB));

            boolean populated = memory.populate(32 * MIB, 32 * MIB);

            assertEquals(Pagemap.kernelCanPopulate(), populated, "MADV_POPULATE_WRITE on Linux "
                    + System.getProperty("os.version"));
            assertEquals(populated, Pagemap.allResident(base + 32 * MIB, 32 * MIB), "the range, every page of it");
            assertEquals(0, Pagemap.residentPages(base, 32 * MIB), "nothing below it");
            assertEquals(0x1122334455667788L, memory.readU64(48 * MIB + 8), "a page already there keeps its data");
        }
    }
}
