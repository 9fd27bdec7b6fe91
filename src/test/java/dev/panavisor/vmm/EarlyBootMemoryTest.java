package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.boot.LoadedKernel;
import dev.panavisor.memory.MappedGuestMemory;
import dev.panavisor.memory.Pagemap;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class EarlyBootMemoryTest {
    private static final long MIB = 1 << 20;

    private static LoadedKernel kernel(long loadAddress, long reservedEnd) {
        return new LoadedKernel("test kernel", LoadedKernel.Mode.LONG_MODE_64, loadAddress, loadAddress,
                loadAddress + MIB, reservedEnd, new byte[0], 2048, 0x7fff_ffffL, OptionalLong.empty());
    }

    @Test
    void the_kernels_range_and_the_memory_below_the_initrd_are_faulted_in_and_nothing_else() {
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(128 * MIB)) {
            long base = memory.hostSegment().address();
            boolean done = EarlyBootMemory.faultIn(memory, kernel(2 * MIB, 12 * MIB), 120 * MIB);
            assertEquals(Pagemap.kernelCanPopulate(), done, "MADV_POPULATE_WRITE: Linux 5.14 and later");
            assertEquals(done, Pagemap.allResident(base + 2 * MIB, 10 * MIB), "the kernel's range, [2, 12) MiB");
            assertEquals(done, Pagemap.allResident(base + 88 * MIB, 32 * MIB),
                    "32 MiB below the initrd, [88, 120) MiB");
            // Away from the ranges' edges by a huge page, which a fault at an edge may bring in whole.
            assertEquals(0, Pagemap.residentPages(base + 14 * MIB, 72 * MIB), "[14, 86) MiB untouched");
            assertEquals(0, Pagemap.residentPages(base + 122 * MIB, 6 * MIB), "the initrd's place: the loader's job");
        }
    }

    @Test
    void a_small_guest_faults_in_what_lies_between_the_kernel_and_the_initrd_once() {
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(32 * MIB)) {
            long base = memory.hostSegment().address();
            boolean done = EarlyBootMemory.faultIn(memory, kernel(2 * MIB, 12 * MIB), 24 * MIB);
            assertEquals(Pagemap.kernelCanPopulate(), done, "MADV_POPULATE_WRITE: Linux 5.14 and later");
            assertEquals(done, Pagemap.allResident(base + 2 * MIB, 22 * MIB), "[2, 24) MiB: the two ranges meet");
            assertEquals(0, Pagemap.residentPages(base + 26 * MIB, 6 * MIB));
        }
    }
}
