package dev.panavisor.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BusTest {
    /** Remembers writes and answers reads with base+offset so routing is visible. */
    static final class Probe implements BusDevice {
        final List<String> writes = new ArrayList<>();
        final long tag;

        Probe(long tag) {
            this.tag = tag;
        }

        @Override
        public long read(long offset, int size) {
            return tag + offset;
        }

        @Override
        public void write(long offset, int size, long value) {
            writes.add(offset + "/" + size + "=" + Long.toHexString(value));
        }
    }

    @Test
    void routes_accesses_to_the_device_with_offsets_relative_to_its_base() {
        Bus bus = new Bus("port I/O");
        Probe serial = new Probe(0x10);
        Probe other = new Probe(0x900);
        bus.register("serial", 0x3f8, 8, serial);
        bus.register("other", 0x400, 4, other);

        assertEquals(0x15, bus.read(0x3fd, 1));
        assertEquals(0x902, bus.read(0x402, 2));
        bus.write(0x3f8, 1, 0x41);
        assertEquals(List.of("0/1=41"), serial.writes);
        assertTrue(other.writes.isEmpty());
    }

    @Test
    void unclaimed_reads_float_high_and_writes_are_dropped_and_counted() {
        Bus bus = new Bus("MMIO");
        Probe device = new Probe(0);
        bus.register("dev", 0x1000, 0x10, device);

        assertEquals(0xff, bus.read(0x2000, 1));
        assertEquals(0xffff_ffffL, bus.read(0x2000, 4));
        assertEquals(-1L, bus.read(0x2000, 8));
        bus.write(0x0fff, 1, 1);
        // An access that straddles the end of a device's range is not the device's.
        assertEquals(0xffff, bus.read(0x100f, 2));
        assertEquals(4, bus.unhandledReads());
        assertEquals(1, bus.unhandledWrites());
        assertTrue(device.writes.isEmpty());
    }

    @Test
    void values_are_truncated_to_the_access_width() {
        Bus bus = new Bus("MMIO");
        Probe device = new Probe(0x1_0000_00ffL);
        bus.register("dev", 0, 0x100, device);
        assertEquals(0xff, bus.read(0, 1));
        bus.write(0, 2, 0x12345);
        assertEquals(List.of("0/2=2345"), device.writes);
    }

    @Test
    void overlapping_registrations_are_rejected_with_both_names() {
        Bus bus = new Bus("port I/O");
        bus.register("com1", 0x3f8, 8, new Probe(0));
        BusException below = assertThrows(BusException.class, () -> bus.register("x", 0x3f0, 9, new Probe(0)));
        assertTrue(below.getMessage().contains("x") && below.getMessage().contains("com1"), below.getMessage());
        assertThrows(BusException.class, () -> bus.register("y", 0x3ff, 1, new Probe(0)));
        assertThrows(BusException.class, () -> bus.register("z", 0x3f0, 0x100, new Probe(0)));
        // Adjacent ranges are fine.
        bus.register("before", 0x3f0, 8, new Probe(0));
        bus.register("after", 0x400, 8, new Probe(0));
        assertEquals(3, bus.ranges().size());
        assertThrows(BusException.class, () -> bus.register("empty", 0x500, 0, new Probe(0)));
        assertNull(bus.find(0x408, 1));
    }

    @Test
    void every_address_finds_the_range_that_holds_it_whatever_the_order_of_registration() {
        Bus bus = new Bus("port I/O");
        // Registered out of order: the lookup's sorted arrays are rebuilt by each registration.
        bus.register("marker", 0x440, 4, new Probe(0));
        bus.register("com1", 0x3f8, 8, new Probe(0));
        bus.register("i8042 data", 0x60, 1, new Probe(0));
        bus.register("i8042 command", 0x64, 1, new Probe(0));
        String[] expected = new String[0x500];
        for (Bus.Range range : bus.ranges()) {
            for (long port = range.base(); port < range.base() + range.length(); port++) {
                expected[(int) port] = range.name();
            }
        }
        for (int port = 0; port < expected.length; port++) {
            Bus.Range found = bus.find(port, 1);
            assertEquals(expected[port], found == null ? null : found.name(), "port 0x" + Integer.toHexString(port));
        }
        assertEquals("com1", bus.find(0x3fc, 4).name());
        assertNull(bus.find(0x3fd, 4), "an access that runs past the end of its range");
        assertNull(bus.find(0x63, 2), "an access that starts in a gap");
        assertNull(bus.find(-1, 1));
    }
}
