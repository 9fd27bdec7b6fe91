package dev.panavisor.devices.serial;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.InterruptLine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class Uart8250Test {
    // Offsets, as the guest driver names them.
    private static final int THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
            LSR = 5, MSR = 6, SCR = 7;

    /** Records every change of the interrupt line. */
    static final class LineRecorder implements InterruptLine {
        final List<Boolean> changes = new ArrayList<>();
        boolean level;

        int withdrawals;

        @Override
        public void set(boolean asserted) {
            level = asserted;
            changes.add(asserted);
        }

        @Override
        public void withdraw() {
            withdrawals++;
            set(false);
        }
    }

    private final ByteArrayOutputStream sink = new ByteArrayOutputStream();
    private final LineRecorder line = new LineRecorder();
    private final Uart8250 uart = new Uart8250(sink, line);

    private int in(int offset) {
        return (int) uart.read(offset, 1);
    }

    private void out(int offset, int value) {
        uart.write(offset, 1, value);
    }

    private void type(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        assertEquals(bytes.length, uart.receive(bytes, 0, bytes.length));
    }

    @Test
    void transmitting_never_flushes_the_sink_so_the_console_can_batch_its_writes() {
        int[] flushes = {0};
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        OutputStream counting = new OutputStream() {
            @Override
            public void write(int b) {
                written.write(b);
            }

            @Override
            public void flush() {
                flushes[0]++;
            }
        };
        Uart8250 console = new Uart8250(counting, line);
        for (byte b : "many bytes, one exit each\n".getBytes(StandardCharsets.US_ASCII)) {
            console.write(THR, 1, b);
        }
        assertEquals("many bytes, one exit each\n", written.toString(StandardCharsets.US_ASCII));
        assertEquals(0, flushes[0], "a flush per byte is a write(2) per byte on the vCPU thread");
    }

    @Test
    void bytes_written_to_thr_go_to_the_sink() {
        for (byte b : "hello\n".getBytes(StandardCharsets.US_ASCII)) {
            assertTrue((in(LSR) & 0x20) != 0, "THRE before each byte, as a polling console waits for");
            out(THR, b);
        }
        assertEquals("hello\n", sink.toString(StandardCharsets.US_ASCII));
        assertEquals(0x60, in(LSR)); // THRE | TEMT, no data
    }

    @Test
    void enabling_the_thre_interrupt_raises_it_at_once_and_reading_iir_clears_it() {
        assertFalse(line.level);
        assertEquals(0x01, in(IIR));
        out(IER, 0x02);
        assertTrue(line.level);
        assertEquals(0x02, in(IIR));
        assertFalse(line.level);
        assertEquals(0x01, in(IIR));
    }

    @Test
    void thre_comes_back_when_etbei_is_toggled_as_linux_checks_at_startup() {
        // serial8250_do_startup's UART_BUG_THRE test: IER=THRI, read IIR, IER=0, IER=THRI, read IIR again.
        out(IER, 0x02);
        assertEquals(0x02, in(IIR) & 0x0f);
        out(IER, 0);
        out(IER, 0x02);
        assertEquals(0x02, in(IIR) & 0x0f);
        // Rewriting IER with ETBEI already set is not an enable: nothing new.
        out(IER, 0x02);
        assertEquals(0x01, in(IIR));
    }

    @Test
    void the_interrupt_state_is_read_without_clearing_thre() {
        assertEquals("IER 0x0, IIR 0x1, line low", uart.interruptState());
        out(IIR, 0x01); // FCR: FIFOs on
        out(IER, 0x02);
        assertEquals("IER 0x2, IIR 0xc2, line high", uart.interruptState());
        assertEquals("IER 0x2, IIR 0xc2, line high", uart.interruptState(), "a second look sees the same");
        assertEquals(0xc2, in(IIR), "the guest's read still finds THRE");
        assertEquals("IER 0x2, IIR 0xc1, line low", uart.interruptState());
    }

    @Test
    void turning_thre_off_while_it_is_pending_withdraws_the_line_and_reading_iir_only_lowers_it() {
        out(IER, 0x02);
        in(IIR);
        assertEquals(0, line.withdrawals, "THRE read by the guest: lowered, not withdrawn");
        out(THR, 'x');
        out(IER, 0x00); // __stop_tx after the last byte
        assertFalse(line.level);
        assertEquals(1, line.withdrawals);
        out(IER, 0x02);
        assertTrue(line.level, "turning it on again raises it anew");
        out(IER, 0x01); // THRE off, data-available on: nothing pending, so withdrawn
        assertEquals(2, line.withdrawals);
        type("a");
        out(IER, 0x00);
        assertEquals(3, line.withdrawals, "received data's source turned off: the same");
    }

    @Test
    void each_transmitted_byte_raises_thre_again() {
        out(IER, 0x02);
        in(IIR);
        assertFalse(line.level);
        out(THR, 'x');
        assertTrue(line.level);
        assertEquals(0x02, in(IIR));
        assertEquals(List.of(true, false, true, false), line.changes);
    }

    @Test
    void received_bytes_set_dr_and_raise_rda_until_read() {
        out(IER, 0x01);
        assertFalse(line.level);
        type("ab");
        assertTrue(line.level);
        assertEquals(0x04, in(IIR));
        assertEquals(0x61, in(LSR)); // DR | THRE | TEMT
        assertEquals('a', in(RBR));
        assertTrue(line.level, "still data in the FIFO");
        assertEquals('b', in(RBR));
        assertFalse(line.level);
        assertEquals(0x60, in(LSR));
        assertEquals(0x01, in(IIR));
    }

    @Test
    void the_receive_fifo_takes_64_bytes_and_leaves_the_rest_with_the_caller() {
        byte[] input = new byte[100];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) i;
        }
        assertEquals(64, uart.receive(input, 0, input.length));
        assertEquals(0, uart.receiveSpace());
        assertEquals(0, uart.receive(input, 64, 36));
        assertEquals(0, in(RBR));
        assertEquals(1, uart.receiveSpace());
        assertEquals(1, uart.receive(input, 64, 36));
        for (int i = 1; i <= 64; i++) {
            assertEquals(i, in(RBR));
        }
        assertEquals(0x60, in(LSR), "no overrun: nothing was dropped");
    }

    @Test
    void the_divisor_latch_does_not_touch_thr_or_ier() {
        out(IER, 0x01);
        out(LCR, 0x83);  // DLAB, 8N1
        out(DLL, 0x01);  // 115200 baud
        out(DLM, 0x00);
        assertEquals(0x01, in(DLL));
        assertEquals(0x00, in(DLM));
        assertEquals(0, sink.size(), "divisor bytes are not transmitted");
        out(LCR, 0x03);
        assertEquals(0x01, in(IER), "IER kept its value under the divisor");
        out(THR, 'k');
        assertEquals("k", sink.toString(StandardCharsets.US_ASCII));
        assertEquals(0x03, in(LCR));
    }

    @Test
    void iir_reports_line_status_then_data_then_thre_then_modem_status() {
        out(MCR, 0x10);           // loopback: transmitted bytes come back, modem inputs follow MCR
        out(MCR, 0x12);           // RTS → CTS changes: a modem status delta
        for (int i = 0; i < 65; i++) {
            out(THR, 'a' + (i % 26)); // 65 bytes into a 64-byte FIFO: the last one overruns
        }
        out(IER, 0x0f);
        assertTrue(line.level);
        assertEquals(0x06, in(IIR), "line status first");
        assertEquals(0x63, in(LSR) & 0x63, "DR | OE | THRE; reading LSR clears OE");
        assertEquals(0x04, in(IIR), "then received data");
        for (int i = 0; i < 64; i++) {
            in(RBR);
        }
        assertEquals(0x02, in(IIR), "then THRE, cleared by this read");
        assertEquals(0x00, in(IIR), "then modem status");
        // Entering loopback dropped DCD, DSR and CTS (deltas DDCD, DDSR, DCTS); RTS then raised CTS again.
        assertEquals(0x1b, in(MSR), "CTS with the deltas; reading MSR clears them");
        assertEquals(0x10, in(MSR));
        assertEquals(0x01, in(IIR));
        assertFalse(line.level);
    }

    @Test
    void answers_the_probes_of_linux_autoconfig_like_a_16550a() {
        out(IER, 0x0f);
        assertEquals(0x0f, in(IER));
        out(IER, 0xff);
        assertEquals(0x0f, in(IER), "only the four 16550 enable bits exist");
        out(IER, 0);
        out(MCR, 0x1a);           // loopback with RTS and OUT2
        assertEquals(0x90, in(MSR) & 0xf0, "DCD and CTS follow OUT2 and RTS");
        out(MCR, 0);
        out(FCR, 0x01);
        assertEquals(3, in(IIR) >> 6, "FIFOs enabled: a 16550A");
        out(SCR, 0x5a);
        assertEquals(0x5a, in(SCR));
        assertEquals(0xb0, in(MSR) & 0xf0, "outside loopback the line is connected: DCD, DSR, CTS");
    }

    @Test
    void loopback_disconnects_the_host_input_and_output() {
        out(MCR, 0x10);
        out(THR, 'z');
        assertEquals(0, sink.size());
        assertEquals('z', in(RBR));
        assertEquals(0, uart.receive(new byte[] {1}, 0, 1));
    }

    @Test
    void clearing_the_receive_fifo_drops_its_bytes() {
        type("xyz");
        out(FCR, 0x03);
        assertEquals(0x60, in(LSR));
    }

    @Test
    void a_failing_sink_becomes_a_serial_exception() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        var failing = new Uart8250(broken, line);
        var e = assertThrows(SerialException.class, () -> failing.write(THR, 1, 'a'));
        assertEquals("serial output failed: Broken pipe", e.getMessage());
    }
}
