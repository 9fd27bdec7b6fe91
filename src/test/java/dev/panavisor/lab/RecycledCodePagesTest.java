package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RecycledCodePagesTest {
    private static long virtualKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmSize:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmSize in /proc/self/status");
    }

    @Test
    void a_clearing_touches_every_huge_page_of_the_size_rounded_up() {
        RecycledCodePages.Cleared cleared = RecycledCodePages.clear(5L << 20);
        assertEquals(3, cleared.hugePages());
        assertTrue(cleared.slow() >= 0 && cleared.slow() <= 3, cleared.toString());
        assertTrue(cleared.millis() >= 0, cleared.toString());
    }

    @Test
    void the_memory_it_takes_is_given_back() throws IOException {
        long before = virtualKiB();
        for (int i = 0; i < 4; i++) {
            RecycledCodePages.clear(64L << 20);
        }
        // Four mappings of 66 MiB left behind would add 264 MiB; the JVM's own growth meanwhile is far smaller.
        long grown = virtualKiB() - before;
        assertTrue(grown < 64 << 10, "the process's virtual size grew by " + grown + " KiB");
    }

    @Test
    void nothing_to_clear_is_refused() {
        assertThrows(IllegalArgumentException.class, () -> RecycledCodePages.clear(0));
    }

    @Test
    void outside_the_lab_nothing_is_cleared_or_reported() {
        RecycledCodePages pages = new RecycledCodePages(256L << 20, false);
        pages.clearBeforeRun();
        assertTrue(pages.summary().isEmpty());
    }

    @Test
    void inside_the_lab_each_run_is_counted_in_the_summary() {
        RecycledCodePages pages = new RecycledCodePages(4L << 20, true);
        pages.clearBeforeRun();
        pages.clearBeforeRun();
        String summary = pages.summary().orElseThrow();
        assertTrue(summary.startsWith("lab: 4 MiB of L1's free memory cleared before each of 2 timed runs, untimed"),
                summary);
        assertTrue(summary.contains("recycled code pages found before "), summary);
    }
}
