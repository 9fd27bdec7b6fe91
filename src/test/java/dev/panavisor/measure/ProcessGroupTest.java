package dev.panavisor.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProcessGroupTest {
    @Test
    void cpu_ticks_are_user_plus_system_counted_past_a_command_name_with_spaces() {
        String stat = "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 500 0 0";
        assertEquals(300, ProcessGroup.cpuTicks(stat));
    }

    @Test
    void this_process_is_in_its_own_group_with_memory_and_cpu() {
        ProcessGroup self = ProcessGroup.of(ProcessHandle.current().pid(), null);
        assertEquals(ProcessHandle.current().pid(), self.pids().getFirst());
        assertTrue(self.pss() > 0);
        assertTrue(self.cpuTicks() > 0);
    }

    @Test
    void nmt_summary_gives_committed_bytes_per_category() {
        Map<String, Long> committed = NmtSummary.committed(List.of("Native Memory Tracking:", "",
                "Total: reserved=7742301KB, committed=484093KB", "       malloc: 18409KB #46875",
                "-                 Java Heap (reserved=6172672KB, committed=393216KB)",
                "                            (mmap: reserved=6172672KB, committed=393216KB, at peak)",
                "-                      Code (reserved=248624KB, committed=8480KB)"));
        assertEquals(List.of("Total", "Java Heap", "Code"), List.copyOf(committed.keySet()));
        assertEquals(393216L * 1024, committed.get("Java Heap"));
        assertEquals(484093L * 1024, committed.get("Total"));
        assertTrue(NmtSummary.committed(List.of("12: Native memory tracking is not enabled")).isEmpty());
    }
}
