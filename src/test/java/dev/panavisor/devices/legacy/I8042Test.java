package dev.panavisor.devices.legacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.bus.Bus;
import org.junit.jupiter.api.Test;

class I8042Test {
    private int resets;
    private final I8042 controller = new I8042(() -> resets++);
    private final Bus bus = new Bus("port I/O");

    I8042Test() {
        bus.register("i8042 data", I8042.DATA_PORT, 1, controller.dataPort());
        bus.register("i8042 command", I8042.COMMAND_PORT, 1, controller.commandPort());
    }

    @Test
    void command_0xfe_pulses_reset_after_the_input_buffer_reads_empty() {
        // Linux's kbd reboot: wait until status bit 1 (input buffer full) is clear, then write 0xFE.
        assertEquals(0, bus.read(0x64, 1) & 0x02);
        bus.write(0x64, 1, 0xfe);
        assertEquals(1, resets);
    }

    @Test
    void other_commands_do_not_reset() {
        for (int command : new int[] {0x20, 0xa7, 0xa8, 0xaa, 0xab, 0xad, 0xae, 0xd4, 0xff, 0xf1}) {
            bus.write(0x64, 1, command);
        }
        assertEquals(0, resets);
    }

    @Test
    void writing_the_output_port_with_bit_0_clear_resets() {
        bus.write(0x64, 1, 0xd1);
        bus.write(0x60, 1, 0xdf); // A20 on, reset line high: nothing happens
        assertEquals(0, resets);
        bus.write(0x64, 1, 0xd1);
        bus.write(0x60, 1, 0xde);
        assertEquals(1, resets);
    }

    @Test
    void status_is_sane_and_answers_arrive_through_the_data_port() {
        assertEquals(0x14, bus.read(0x64, 1)); // system flag, not inhibited, nothing to read
        bus.write(0x64, 1, 0xaa);
        assertEquals(0x1d, bus.read(0x64, 1)); // + output full, + last write was a command
        assertEquals(0x55, bus.read(0x60, 1));
        assertEquals(0x1c, bus.read(0x64, 1));
        assertEquals(0, bus.read(0x60, 1));
    }

    @Test
    void the_command_byte_can_be_written_and_read_back() {
        bus.write(0x64, 1, 0x20);
        assertEquals(0x45, bus.read(0x60, 1));
        bus.write(0x64, 1, 0x60);
        bus.write(0x60, 1, 0x44);
        bus.write(0x64, 1, 0x20);
        assertEquals(0x44, bus.read(0x60, 1));
        bus.write(0x64, 1, 0xa7);      // disable aux: sets bit 5
        bus.write(0x64, 1, 0x20);
        assertEquals(0x64, bus.read(0x60, 1));
    }

    @Test
    void a_guest_that_never_reads_cannot_grow_the_output_queue() {
        for (int i = 0; i < 1000; i++) {
            bus.write(0x64, 1, 0xaa);
        }
        int answers = 0;
        while ((bus.read(0x64, 1) & 1) != 0) {
            bus.read(0x60, 1);
            answers++;
        }
        assertEquals(16, answers);
    }

    /** A controller with its keyboard interrupt counted. */
    private static final class Keyboard {
        int interrupts;
        final I8042 controller = new I8042(() -> { }, new dev.panavisor.devices.InterruptLine() {
            @Override
            public void set(boolean asserted) {
                throw new AssertionError("IRQ 1 is an edge: pulse() only");
            }

            @Override
            public void pulse() {
                interrupts++;
            }
        });
        final Bus bus = new Bus("port I/O");

        Keyboard() {
            bus.register("i8042 data", I8042.DATA_PORT, 1, controller.dataPort());
            bus.register("i8042 command", I8042.COMMAND_PORT, 1, controller.commandPort());
        }

        void writeCommandByte(int value) {
            bus.write(0x64, 1, 0x60);
            bus.write(0x60, 1, value);
        }

        /** What Linux's i8042_interrupt does: status, then data while the output buffer is full. */
        java.util.List<Integer> drain() {
            java.util.List<Integer> bytes = new java.util.ArrayList<>();
            while ((bus.read(0x64, 1) & 1) != 0) {
                bytes.add((int) bus.read(0x60, 1));
            }
            return bytes;
        }
    }

    @Test
    void ctrl_alt_del_arrives_as_set_1_scan_codes_each_with_an_interrupt() {
        Keyboard keyboard = new Keyboard();
        assertTrue(keyboard.controller.pressCtrlAltDel());
        assertEquals(1, keyboard.interrupts, "the first byte is in the output buffer");
        assertEquals(0x01, keyboard.bus.read(0x64, 1) & 0x21, "output full, from the keyboard (not the mouse)");
        // Ctrl, Alt, Delete (extended: 0xE0 prefix) pressed, then released (bit 7 set), in reverse order.
        assertEquals(java.util.List.of(0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d), keyboard.drain());
        assertEquals(8, keyboard.interrupts, "one edge per byte reaching the output buffer");
        assertEquals(0, keyboard.bus.read(0x64, 1) & 1);
    }

    @Test
    void a_disabled_keyboard_takes_no_press_and_a_masked_interrupt_waits_for_its_enable() {
        Keyboard keyboard = new Keyboard();
        keyboard.bus.write(0x64, 1, 0xad); // keyboard clock off (command byte bit 4)
        assertFalse(keyboard.controller.pressCtrlAltDel());
        assertEquals(java.util.List.of(), keyboard.drain());
        keyboard.bus.write(0x64, 1, 0xae);

        keyboard.writeCommandByte(0x44); // translation and system flag, keyboard interrupt off
        assertTrue(keyboard.controller.pressCtrlAltDel());
        assertEquals(0, keyboard.interrupts, "no interrupt while bit 0 of the command byte is clear");
        keyboard.writeCommandByte(0x45);
        assertEquals(1, keyboard.interrupts, "enabling it raises the one for the byte that waits");
        assertEquals(8, keyboard.drain().size());
    }

    @Test
    void presses_the_guest_does_not_read_are_bounded() {
        Keyboard keyboard = new Keyboard();
        assertTrue(keyboard.controller.pressCtrlAltDel());
        assertTrue(keyboard.controller.pressCtrlAltDel());
        assertFalse(keyboard.controller.pressCtrlAltDel(), "the output queue holds 16 bytes");
        assertEquals(16, keyboard.drain().size());
        assertTrue(keyboard.controller.pressCtrlAltDel(), "read, there is room again");
    }
}
