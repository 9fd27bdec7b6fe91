package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.measure.Smaps;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryReportTest {
    /** The shape of JDK 25's "VM.native_memory summary" (trimmed). */
    private static final String NMT = """

            Native Memory Tracking:

            Total: reserved=1536000KB, committed=40960KB
                   malloc: 18087KB #53094, peak=21409KB #52915

            -                 Java Heap (reserved=1048576KB, committed=16384KB)
                                        (mmap: reserved=1048576KB, committed=16384KB, at peak)

            -                     Class (reserved=1048803KB, committed=1763KB)
                                        (classes #3428)

            -                    Thread (reserved=18490KB, committed=782KB)
                                        (threads #18)

            -                      Code (reserved=249045KB, committed=8901KB)
            """;

    @Test
    void parsesNativeMemoryCategoriesAndTotal() {
        List<MemoryReport.NativeArea> areas = MemoryReport.parseNativeMemory(NMT);
        assertEquals(List.of(new MemoryReport.NativeArea("Java Heap", 16384 * 1024L),
                new MemoryReport.NativeArea("Class", 1763 * 1024L),
                new MemoryReport.NativeArea("Thread", 782 * 1024L),
                new MemoryReport.NativeArea("Code", 8901 * 1024L)), areas);
        assertEquals(40960 * 1024L, MemoryReport.totalCommitted(NMT));
    }

    @Test
    void firstLineIsTheOverheadApartFromGuestMemory() {
        Smaps.Overhead overhead = new Smaps.Overhead(100L << 20, 60L << 20, 90L << 20, 60L << 20);
        List<String> lines = MemoryReport.lines(overhead);
        assertTrue(lines.get(0).startsWith("memory: VMM overhead 40.0 MiB resident apart from guest memory "
                + "(process RSS 100.0 MiB, guest memory's pages 60.0 MiB); PSS 30.0 MiB"), lines.get(0));
        assertTrue(lines.get(1).matches("memory: JVM heap [0-9.]+ MiB committed .* threads"), lines.get(1));
    }
}
