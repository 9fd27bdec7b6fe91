package dev.panavisor.devices.legacy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.bus.BusDevice;
import dev.panavisor.testing.FuzzLimits;
import java.util.ArrayDeque;
import org.junit.jupiter.api.Tag;

/**
 * A guest writing any byte, of any width, to the i8042's two ports in any order; Jazzer chooses the accesses.
 *
 * <p>Properties: nothing escapes; the reset callback runs exactly when the guest pulses the reset line (command
 * 0xF0-0xFF with bit 0 clear, or command 0xD1 followed by a data byte with bit 0 clear), and never otherwise; every
 * data read returns the answer a model of the controller kept by the test expects (0x55 for the self-test, 0x00 for
 * the interface test, the command byte as 0x60 and 0xA7/0xA8/0xAD/0xAE left it; 0 when nothing is queued); the
 * answer queue stays bounded (a guest that never reads cannot grow it, later answers are dropped); the status
 * register's "output buffer full" bit says whether a data read has something to return, and its "last write was a
 * command" bit follows the guest's last write.
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
        ArrayDeque<Integer> answers = new ArrayDeque<>(); // what the guest should read next
        int commandByte = 0x45;
        boolean lastWasCommand = false;
        for (int step = 0; step < MAX_STEPS && data.remainingBytes() > 0; step++) {
            int action = data.consumeInt(0, 3);
            int size = 1 << data.consumeInt(0, 2);
            int value = data.consumeBoolean() ? data.pickValue(INTERESTING) : data.consumeInt();
            int low = value & 0xff; // the port is 8 bits wide: wider writes keep their low byte
            switch (action) {
                case 0 -> {
                    command.write(0, size, value & 0xffff_ffffL);
                    lastWasCommand = true;
                    pending = low == 0x60 || low == 0xd1 ? low : -1;
                    if (low >= 0xf0 && (low & 1) == 0) {
                        expectedResets++;
                    }
                    Integer answer = switch (low) {
                        case 0x20 -> commandByte;
                        case 0xaa -> 0x55;
                        case 0xab -> 0x00;
                        default -> null;
                    };
                    if (answer != null && answers.size() < I8042.OUTPUT_CAPACITY) {
                        answers.add(answer);
                    }
                    commandByte = switch (low) {
                        case 0xa7 -> commandByte | 0x20;
                        case 0xa8 -> commandByte & ~0x20;
                        case 0xad -> commandByte | 0x10;
                        case 0xae -> commandByte & ~0x10;
                        default -> commandByte;
                    };
                }
                case 1 -> {
                    dataPort.write(0, size, value & 0xffff_ffffL);
                    lastWasCommand = false;
                    if (pending == 0xd1 && (low & 1) == 0) {
                        expectedResets++;
                    }
                    if (pending == 0x60) {
                        commandByte = low;
                    }
                    pending = -1;
                }
                case 2 -> {
                    long status = command.read(0, size);
                    assertEquals(!answers.isEmpty(), (status & I8042.STATUS_OUTPUT_FULL) != 0,
                            "output buffer full bit");
                    assertEquals(lastWasCommand, (status & I8042.STATUS_LAST_WAS_COMMAND) != 0, "last write bit");
                }
                default -> {
                    Integer expected = answers.poll();
                    assertEquals(expected == null ? 0 : expected, dataPort.read(0, size), "answer read from 0x60");
                }
            }
            assertEquals(expectedResets, resets[0], "reset pulses");
        }
    }
}
