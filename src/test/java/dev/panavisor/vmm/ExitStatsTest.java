package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ExitStatsTest {
    @Test
    void exits_are_counted_by_port_and_by_mmio_page() {
        ExitStats stats = new ExitStats();
        stats.port(0x3f8);
        stats.port(0x3f8);
        stats.mmio(0xd000_0050L);
        stats.mmio(0xd000_0fffL);
        stats.mmio(0xd000_1000L);
        stats.other();
        assertEquals(6, stats.total());
        assertEquals(List.of("port 0x3f8: 2", "mmio 0xd0000000: 2"), stats.top(2));
    }

    /**
     * A guest that reads every page of the address space (a hostile kernel, or one probing memory that is not
     * there) must not grow the counts without end: past the limit, new pages share one row, and each exit is
     * still counted once.
     */
    @Test
    void pages_past_the_limit_share_one_row() {
        ExitStats stats = new ExitStats();
        stats.mmio(0xd000_0000L);
        int pages = 100_000;
        for (long page = 1; page < pages; page++) {
            stats.mmio(0x1_0000_0000L + (page << 12));
        }
        stats.mmio(0xd000_0004L); // a page counted before the limit goes on being counted on its own
        assertEquals(pages + 1, stats.total());
        List<String> rows = stats.top(Integer.MAX_VALUE);
        assertEquals(ExitStats.MMIO_PAGE_LIMIT + 1, rows.size());
        assertEquals("mmio, other pages (past the first " + ExitStats.MMIO_PAGE_LIMIT + "): "
                + (pages - ExitStats.MMIO_PAGE_LIMIT), rows.getFirst());
        assertTrue(rows.contains("mmio 0xd0000000: 2"), rows.toString());
    }
}
