package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panavisor.boot.E820Map.Entry;
import dev.panavisor.boot.E820Map.Type;
import dev.panavisor.memory.GuestLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

class E820MapTest {
    @Test
    void low_ram_then_the_reserved_ebda_and_legacy_hole_then_ram_from_1_MiB() {
        assertEquals(List.of(
                new Entry(0, 0x9fc00, Type.RAM),
                new Entry(0x9fc00, 0x100000 - 0x9fc00, Type.RESERVED),
                new Entry(0x100000, (256 << 20) - 0x100000, Type.RAM)),
                E820Map.forMemorySize(256 << 20).entries());
    }

    @Test
    void ram_stops_where_mmio_starts() {
        List<Entry> entries = E820Map.forMemorySize(8L << 30).entries();
        assertEquals(GuestLayout.RAM_LIMIT, entries.get(2).end());
    }

    @Test
    void memory_too_small_is_a_clear_error() {
        var e = assertThrows(DoesNotFitException.class, () -> E820Map.forMemorySize(512 << 10));
        assertEquals("guest memory of 512.0 KiB is too small: at least 2.0 MiB is needed (the low megabyte plus "
                + "the kernel)", e.getMessage());
    }
}
