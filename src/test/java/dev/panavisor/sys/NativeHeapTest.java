package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class NativeHeapTest {
    /**
     * Memory freed in the middle of the C heap stays resident (glibc returns only the top of an arena by itself)
     * until a trim gives its pages back. 32 MiB in 16 KiB blocks, each followed by a small block that stays, so
     * that the freed blocks are holes, not the heap's top.
     */
    @Test
    void a_trim_gives_back_freed_memory_that_malloc_keeps() throws IOException {
        long freedBytes = 32L << 20;
        try (Arena plugs = Arena.ofConfined()) {
            try (Arena blocks = Arena.ofConfined()) {
                for (long allocated = 0; allocated < freedBytes; allocated += 16 << 10) {
                    blocks.allocate(16 << 10).fill((byte) 1); // below malloc's mmap threshold: from the heap
                    plugs.allocate(64);
                }
            }
            long kept = residentBytes();
            assertTrue(NativeHeap.trim(), "the trim gave memory back");
            long after = residentBytes();
            assertTrue(kept - after >= freedBytes / 2, "resident " + kept + " -> " + after + " bytes");
        }
    }

    private static long residentBytes() throws IOException {
        String statm = Files.readString(Path.of("/proc/self/statm")); // size resident shared ... (pages)
        return Long.parseLong(statm.split(" ")[1]) * 4096;
    }
}
