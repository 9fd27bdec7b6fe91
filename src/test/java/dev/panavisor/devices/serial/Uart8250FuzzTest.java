package dev.panavisor.devices.serial;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.devices.InterruptLine;
import dev.panavisor.testing.FuzzLimits;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Tag;

/**
 * A guest poking the 8250's eight registers with any value and width, in any order, while the host types.
 *
 * <p>Properties: nothing escapes; the bytes the host sees are exactly the THR writes made with DLAB clear and
 * loopback off (tracked by the test from its own LCR and MCR writes); {@code receive} takes no more than
 * {@code receiveSpace()}, and the guest reads back what was taken, in order, unless it cleared the FIFO or used
 * loopback; the interrupt line is driven only on transitions and is high exactly when IIR says an interrupt is
 * pending (16550D Table IV).
 *
 * <p>Jazzer chooses every access from its input; the regression corpus, replayed by every test run, is
 * {@code src/test/resources/dev/panavisor/devices/serial/Uart8250FuzzTestInputs/}.
 */
@Tag("fuzz")
class Uart8250FuzzTest {
    /** Bounds one input's work, whatever its length. */
    static final int MAX_STEPS = 1000;
    static final long[] INTERESTING = {0, 1, 2, 3, 0x0f, 0x10, 0x1f, 0x80, 0x83, 0xff, 0xc7};

    static final class Line implements InterruptLine {
        boolean high;

        @Override
        public void set(boolean asserted) {
            assertNotEquals(high, asserted, "line driven to the level it already had");
            high = asserted;
        }
    }

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void register_accesses_in_any_order_keep_output_input_and_the_interrupt_line_consistent(FuzzedDataProvider data) {
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        ByteArrayOutputStream typed = new ByteArrayOutputStream();
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        Line line = new Line();
        Uart8250 uart = new Uart8250(output, line);
        int lcr = 0;
        int mcr = 0;
        boolean inputExact = true;
        for (int step = 0; step < MAX_STEPS && data.remainingBytes() > 0; step++) {
            int offset = data.consumeInt(0, 19) == 0 ? data.consumeInt(0, 255)
                    : data.consumeInt(0, Uart8250.PORT_COUNT - 1);
            int size = 1 << data.consumeInt(0, 2);
            if (data.consumeInt(0, 3) == 0) {
                byte[] bytes = data.consumeBytes(data.consumeInt(0, 99));
                int space = uart.receiveSpace();
                int taken = uart.receive(bytes, 0, bytes.length);
                assertEquals(Math.min(space, bytes.length), taken);
                typed.write(bytes, 0, taken);
            } else if (data.consumeBoolean()) {
                boolean highBefore = line.high;
                long value = uart.read(offset, size);
                if (offset == Uart8250.RBR_THR_DLL && (lcr & Uart8250.LCR_DLAB) == 0 && value != 0) {
                    read.write((int) value);
                }
                if (offset == Uart8250.RBR_THR_DLL && (lcr & Uart8250.LCR_DLAB) == 0 && value == 0) {
                    read.write(0); // a zero byte or an empty FIFO: only the first differs, and only in count
                }
                if (offset == Uart8250.IIR_FCR) {
                    // Between accesses the line already shows what IIR reports (the read itself may change it: a
                    // THRE read from IIR clears itself), so a change of state that forgot the line is seen here.
                    assertEquals((value & 1) == 0, highBefore, "IIR vs the line before the read");
                }
            } else {
                long value = data.consumeInt(0, 3) == 0 ? data.consumeLong() : data.pickValue(INTERESTING);
                uart.write(offset, size, value);
                switch (offset) {
                    case Uart8250.LCR -> lcr = (int) value & 0xff;
                    case Uart8250.MCR -> mcr = (int) value & 0xff;
                    case Uart8250.RBR_THR_DLL -> {
                        if ((lcr & Uart8250.LCR_DLAB) == 0) {
                            if ((mcr & Uart8250.MCR_LOOP) == 0) {
                                expected.write((int) value & 0xff);
                            } else {
                                inputExact = false;
                            }
                        }
                    }
                    case Uart8250.IIR_FCR -> inputExact = false; // may clear the receive FIFO
                    default -> { }
                }
            }
            assertEquals(line.high, uart.interruptAsserted());
        }
        assertArrayEquals(expected.toByteArray(), output.toByteArray(), "transmitted bytes");
        if (inputExact) {
            byte[] got = read.toByteArray();
            byte[] want = typed.toByteArray();
            for (int i = 0, j = 0; i < got.length; i++) {
                // Reads of an empty FIFO give 0 too; every non-zero byte must be the next typed one.
                if (got[i] != 0 || (j < want.length && want[j] == 0)) {
                    assertTrue(j < want.length && got[i] == want[j], "byte " + i + " read out of order");
                    j++;
                }
            }
        }
    }
}
