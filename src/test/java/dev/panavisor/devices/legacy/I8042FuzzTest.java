package dev.panavisor.devices.legacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.bus.BusDevice;
import dev.panavisor.testing.Fuzz;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A guest writing any byte, of any width, to the i8042's two ports in any order.
 *
 * <p>Properties: nothing escapes; the reset callback runs exactly when the guest pulses the reset line (command
 * 0xF0-0xFF with bit 0 clear, or command 0xD1 followed by a data byte with bit 0 clear), and never otherwise; the
 * answer queue stays bounded (a guest that never reads cannot grow it) and the status register's "output buffer
 * full" bit says whether a data read has something to return.
 */
@Tag("fuzz")
class I8042FuzzTest {
    @Test
    void reset_happens_exactly_on_the_reset_pulses_and_answers_stay_bounded() {
        Fuzz.run("i8042", 3000, I8042FuzzTest::oneCase);
    }

    static void oneCase(Random random) {
        int[] resets = {0};
        I8042 controller = new I8042(() -> resets[0]++);
        BusDevice data = controller.dataPort();
        BusDevice command = controller.commandPort();
        int expectedResets = 0;
        int pending = -1;
        int queued = 0;
        for (int step = 50 + random.nextInt(300); step > 0; step--) {
            int size = 1 << random.nextInt(3);
            int value = random.nextInt(3) == 0 ? random.nextInt(256)
                    : (int) Fuzz.pick(random, 0x20, 0x60, 0xaa, 0xab, 0xd1, 0xfe, 0xff, 0xf0, 0x00, 0x01);
            int low = value & 0xff; // the port is 8 bits wide: wider writes keep their low byte
            switch (random.nextInt(4)) {
                case 0 -> {
                    command.write(0, size, value);
                    pending = low == 0x60 || low == 0xd1 ? low : -1;
                    if (low >= 0xf0 && (low & 1) == 0) {
                        expectedResets++;
                    }
                    if (low == 0x20 || low == 0xaa || low == 0xab) {
                        queued = Math.min(queued + 1, I8042.OUTPUT_CAPACITY);
                    }
                }
                case 1 -> {
                    data.write(0, size, value);
                    if (pending == 0xd1 && (low & 1) == 0) {
                        expectedResets++;
                    }
                    pending = -1;
                }
                case 2 -> {
                    boolean full = (command.read(0, size) & I8042.STATUS_OUTPUT_FULL) != 0;
                    assertEquals(queued > 0, full, "output buffer full bit");
                }
                default -> {
                    data.read(0, size);
                    queued = Math.max(0, queued - 1);
                }
            }
            assertEquals(expectedResets, resets[0], "reset pulses");
            assertTrue(queued <= I8042.OUTPUT_CAPACITY);
        }
    }
}
