package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.measure.Smaps;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryReportTest {
    @Test
    void nativeMemoryLineListsTheLargestAreasFirst() {
        java.util.Map<String, Long> committed = new java.util.LinkedHashMap<>();
        committed.put("Total", 40L << 20);
        committed.put("Class", 2L << 20);
        committed.put("Java Heap", 16L << 20);
        committed.put("Code", 8L << 20);
        assertEquals("memory: JVM native memory tracking: 40.0 MiB committed; Java Heap 16.0, Code 8.0, Class 2.0",
                MemoryReport.nativeMemoryLine(committed));
    }

    @Test
    void firstLineIsTheOverheadApartFromGuestMemory() {
        Smaps.Overhead overhead = new Smaps.Overhead(100L << 20, 60L << 20, 90L << 20, 60L << 20, 25L << 20);
        List<String> lines = MemoryReport.lines(overhead);
        assertTrue(lines.get(0).startsWith("memory: VMM overhead 40.0 MiB resident apart from guest memory "
                + "(process RSS 100.0 MiB, guest memory's pages 60.0 MiB); PSS 30.0 MiB; anonymous 25.0 MiB, files' "
                + "pages 15.0 MiB"), lines.get(0));
        assertTrue(lines.get(1).matches("memory: JVM heap [0-9.]+ MiB committed .* threads"), lines.get(1));
    }
}
