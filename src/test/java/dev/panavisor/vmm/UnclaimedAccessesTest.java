package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.bus.Bus;
import dev.panavisor.bus.BusDevice;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** run --verbose's lines for accesses no device claims: the first at each address, then silence. */
class UnclaimedAccessesTest {
    final List<String> lines = new ArrayList<>();
    final Bus pio = new Bus("port I/O");

    UnclaimedAccessesTest() {
        pio.register("dev", 0x3f8, 8, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        });
        pio.onMiss(new UnclaimedAccesses(lines::add));
    }

    @Test
    void the_first_access_at_an_address_is_told_with_what_the_bus_did() {
        pio.write(0x3f8, 1, 'x'); // claimed: nothing to say
        for (int i = 0; i < 1000; i++) {
            pio.write(0x80, 1, i); // Linux's delay port, thousands of times in a boot
        }
        assertEquals(0xffff, pio.read(0x2f8 + 5, 2));
        assertEquals(List.of(
                "port I/O: no device at 0x80: write of 1 byte 0x0 dropped (first access there; later ones not shown)",
                "port I/O: no device at 0x2fd: read of 2 bytes answered 0xffff (first access there; later ones not "
                        + "shown)"), lines);
        assertEquals(1000, pio.unhandledWrites(), "counted all the same");
    }

    @Test
    void after_the_address_limit_one_line_says_the_rest_are_not_shown() {
        for (int port = 0; port < 200; port++) {
            pio.read(0x1000 + port, 1);
        }
        assertEquals(UnclaimedAccesses.ADDRESS_LIMIT + 1, lines.size());
        assertEquals("unclaimed accesses at more than " + UnclaimedAccesses.ADDRESS_LIMIT
                + " addresses: further ones are not shown", lines.getLast());
    }
}
