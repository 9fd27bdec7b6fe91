package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RecycledCodePagesTest {
    private static final long MIB = 1L << 20;

    /** The lines of /proc/self/maps whose range overlaps [start, end). */
    private static List<String> mappingsOverlapping(long start, long end) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(line -> {
            String[] range = line.substring(0, line.indexOf(' ')).split("-");
            return Long.parseUnsignedLong(range[0], 16) < end && Long.parseUnsignedLong(range[1], 16) > start;
        }).toList();
    }

    @Test
    void addresses_are_aligned_up_to_the_next_2_mib_boundary() {
        assertEquals(0, RecycledCodePages.alignUp(0));
        assertEquals(2 * MIB, RecycledCodePages.alignUp(1));
        assertEquals(2 * MIB, RecycledCodePages.alignUp(2 * MIB));
        assertEquals(4 * MIB, RecycledCodePages.alignUp(2 * MIB + 4096));
    }

    @Test
    void a_clearing_touches_every_huge_page_of_the_size_rounded_up_and_unmaps_all_it_mapped() throws IOException {
        // A leak would be there after every clearing; another thread of this JVM mapping something into the range
        // just given back (the kernel reuses it first) is a coincidence that three clearings in a row do not share.
        List<String> left = null;
        for (int attempt = 0; attempt < 3 && !List.of().equals(left); attempt++) {
            AtomicLong mappedAt = new AtomicLong();
            AtomicInteger calls = new AtomicInteger();
            // What /proc/self/maps said of the 8 MiB at the address when the callback was told it: mapped or not.
            AtomicReference<String> mappedThen = new AtomicReference<>();
            RecycledCodePages.Cleared cleared = RecycledCodePages.clear(5 * MIB, address -> {
                calls.incrementAndGet();
                mappedAt.set(address);
                mappedThen.set(coverage(address, address + 8 * MIB));
            });
            assertEquals(3, cleared.hugePages());
            assertEquals(1, calls.get(), "the callback is told the mapping's address once");
            assertNotEquals(0, mappedAt.get(), "the callback got an address");
            assertEquals("mapped", mappedThen.get(), "the mapping was there when the callback saw it");
            // The mapping was 3 huge pages and one more for alignment; none of it may be left.
            left = mappingsOverlapping(mappedAt.get(), mappedAt.get() + 8 * MIB);
        }
        assertEquals(List.of(), left);
    }

    /**
     * "mapped" when the lines of /proc/self/maps cover [start, end) without a gap (the kernel may have merged the
     * range with a neighbour, or shown it in parts); otherwise what was found there, for the failure message.
     */
    private static String coverage(long start, long end) {
        try {
            List<String> lines = mappingsOverlapping(start, end);
            long covered = start;
            for (String line : lines) { // in address order, as the kernel lists them
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                if (Long.parseUnsignedLong(range[0], 16) > covered) {
                    break;
                }
                covered = Math.max(covered, Long.parseUnsignedLong(range[1], 16));
            }
            return covered >= end ? "mapped" : "not all mapped: " + lines;
        } catch (IOException | RuntimeException e) {
            return "cannot read /proc/self/maps: " + e; // the callback must not throw: clear would leak the mapping
        }
    }

    @Test
    void the_shares_of_every_cpu_add_up() {
        RecycledCodePages.Cleared cleared = RecycledCodePages.clearOnEveryCpu(8 * MIB, List.of(0, 0));
        assertEquals(4, cleared.hugePages());
    }

    @Test
    void nothing_to_clear_is_refused() {
        assertThrows(IllegalArgumentException.class, () -> RecycledCodePages.clear(0, address -> { }));
    }

    @Test
    void outside_the_lab_nothing_is_cleared_or_reported() {
        RecycledCodePages pages = new RecycledCodePages(256 * MIB, false);
        pages.clearBeforeRun();
        assertEquals(0, pages.runs());
        assertTrue(pages.summary().isEmpty());
    }

    @Test
    void inside_the_lab_each_run_is_cleared_and_counted_in_the_summary() {
        RecycledCodePages pages = new RecycledCodePages(4 * MIB, true);
        pages.clearBeforeRun();
        pages.clearBeforeRun();
        assertEquals(2, pages.runs());
        String summary = pages.summary().orElseThrow();
        assertTrue(summary.startsWith("lab: 132 MiB of L1's free memory cleared before each of 2 runs, untimed"),
                summary);
    }
}
