package dev.panavisor.devices.legacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.bus.BusDevice;
import dev.panavisor.testing.FuzzLimits;
import org.junit.jupiter.api.Tag;

/**
 * A guest writing any byte, of any width, to the i8042's two ports in any order; Jazzer chooses the accesses.
 *
 * <p>Properties: nothing escapes; the reset callback runs exactly when the guest pulses the reset line (command
 * 0xF0-0xFF with bit 0 clear, or command 0xD1 followed by a data byte with bit 0 clear), and never otherwise; the
 * answer queue stays bounded (a guest that never reads cannot grow it) and the status register's "output buffer
 * full" bit says whether a data read has something to return.
 *
 * <p>The regression corpus is {@code src/test/resources/dev/panavisor/devices/legacy/I8042FuzzTestInputs/}.
 */
@Tag("fuzz")
class I8042FuzzTest {
    /** Bounds one input's work, whatever its length. */
    static final int MAX_STEPS = 1000;
    static final int[] INTERESTING = {0x20, 0x60, 0xaa, 0xab, 0xd1, 0xfe, 0xff, 0xf0, 0x00, 0x01};

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void reset_happens_exactly_on_the_reset_pulses_and_answers_stay_bounded(FuzzedDataProvider data) {
        int[] resets = {0};
        I8042 controller = new I8042(() -> resets[0]++);
        BusDevice dataPort = controller.dataPort();
        BusDevice command = controller.commandPort();
        int expectedResets = 0;
        int pending = -1;
        int queued = 0;
        for (int step = 0; step < MAX_STEPS && data.remainingBytes() > 0; step++) {
            int action = data.consumeInt(0, 3);
            int size = 1 << data.consumeInt(0, 2);
            int value = data.consumeBoolean() ? data.pickValue(INTERESTING) : data.consumeInt();
            int low = value & 0xff; // the port is 8 bits wide: wider writes keep their low byte
            switch (action) {
                case 0 -> {
                    command.write(0, size, value & 0xffff_ffffL);
                    pending = low == 0x60 || low == 0xd1 ? low : -1;
                    if (low >= 0xf0 && (low & 1) == 0) {
                        expectedResets++;
                    }
                    if (low == 0x20 || low == 0xaa || low == 0xab) {
                        queued = Math.min(queued + 1, I8042.OUTPUT_CAPACITY);
                    }
                }
                case 1 -> {
                    dataPort.write(0, size, value & 0xffff_ffffL);
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
                    dataPort.read(0, size);
                    queued = Math.max(0, queued - 1);
                }
            }
            assertEquals(expectedResets, resets[0], "reset pulses");
            assertTrue(queued <= I8042.OUTPUT_CAPACITY);
        }
    }
}
