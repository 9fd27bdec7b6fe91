package dev.panavisor.devices.serial;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.InterruptLine;
import dev.panavisor.testing.Fuzz;
import java.io.ByteArrayOutputStream;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A guest poking the 8250's eight registers with any value and width, in any order, while the host types.
 *
 * <p>Properties: nothing escapes; the bytes the host sees are exactly the THR writes made with DLAB clear and
 * loopback off (tracked by the test from its own LCR and MCR writes); {@code receive} takes no more than
 * {@code receiveSpace()}, and the guest reads back what was taken, in order, unless it cleared the FIFO or used
 * loopback; the interrupt line is driven only on transitions and is high exactly when IIR says an interrupt is
 * pending (16550D Table IV).
 */
@Tag("fuzz")
class Uart8250FuzzTest {
    static final class Line implements InterruptLine {
        boolean high;

        @Override
        public void set(boolean asserted) {
            assertNotEquals(high, asserted, "line driven to the level it already had");
            high = asserted;
        }
    }

    @Test
    void register_accesses_in_any_order_keep_output_input_and_the_interrupt_line_consistent() {
        Fuzz.run("uart8250", 3000, Uart8250FuzzTest::oneCase);
    }

    static void oneCase(Random random) {
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        ByteArrayOutputStream typed = new ByteArrayOutputStream();
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        Line line = new Line();
        Uart8250 uart = new Uart8250(output, line);
        int lcr = 0;
        int mcr = 0;
        boolean inputExact = true;
        for (int step = 50 + random.nextInt(300); step > 0; step--) {
            int offset = random.nextInt(20) == 0 ? random.nextInt(256) : random.nextInt(Uart8250.PORT_COUNT);
            int size = 1 << random.nextInt(3);
            if (random.nextInt(4) == 0) {
                byte[] bytes = new byte[random.nextInt(100)];
                random.nextBytes(bytes);
                int space = uart.receiveSpace();
                int taken = uart.receive(bytes, 0, bytes.length);
                assertEquals(Math.min(space, bytes.length), taken);
                typed.write(bytes, 0, taken);
            } else if (random.nextBoolean()) {
                long value = uart.read(offset, size);
                if (offset == Uart8250.RBR_THR_DLL && (lcr & Uart8250.LCR_DLAB) == 0 && value != 0) {
                    read.write((int) value);
                }
                if (offset == Uart8250.RBR_THR_DLL && (lcr & Uart8250.LCR_DLAB) == 0 && value == 0) {
                    read.write(0); // a zero byte or an empty FIFO: only the first differs, and only in count
                }
                if (offset == Uart8250.IIR_FCR) {
                    assertEquals((value & 1) == 0, line.high || wasThre(value), "IIR vs line");
                }
            } else {
                long value = Fuzz.pick(random, 0, 1, 2, 3, 0x0f, 0x10, 0x1f, 0x80, 0x83, 0xff, 0xc7);
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

    /** A THRE read from IIR clears itself, so the line may already be low when the value says pending. */
    private static boolean wasThre(long iir) {
        return (iir & 0x0f) == Uart8250.IIR_THRE;
    }
}
