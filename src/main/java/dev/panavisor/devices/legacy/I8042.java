package dev.panavisor.devices.legacy;

import dev.panavisor.bus.BusDevice;
import dev.panavisor.devices.InterruptLine;
import java.util.ArrayDeque;

/**
 * Just enough of the PC/AT keyboard controller (Intel 8042) for a Linux guest to reboot, and for the host to press
 * Ctrl+Alt+Del on its keyboard.
 *
 * <p>Reset: writing command 0xFE to port 0x64 pulses the CPU reset line, which is how Linux's default "kbd" reboot
 * method ends (arch/x86 reboot: it waits for the input buffer to be empty, then writes 0xFE to 0x64). Panavisor
 * turns that into a call to the injected reset callback, and the VMM ends the VM.
 *
 * <p>Two ports (IBM PC/AT Technical Reference, "Keyboard Controller"):
 * <ul>
 *   <li>0x64 read: status. Bit 0 output buffer full, bit 1 input buffer full (never: commands are taken at once,
 *       so Linux's wait-for-empty loop ends at once), bit 2 system flag (self-test passed), bit 3 last write was a
 *       command, bit 4 keyboard not inhibited.</li>
 *   <li>0x64 write: a command. 0x20 reads the command byte, 0x60 writes it (the next data byte), 0xAA self-test
 *       (answers 0x55), 0xAB keyboard interface test (answers 0x00: no fault), 0xA7/0xA8 and 0xAD/0xAE disable and
 *       enable the mouse and keyboard clocks (bits 5 and 4 of the command byte), 0xD1 writes the output port (the
 *       next data byte; bit 0 is the reset line, active low), and 0xF0-0xFF pulse output port lines low: any with
 *       bit 0 clear pulses reset. Other commands are ignored.</li>
 *   <li>0x60: data. Reads take the next byte the controller or the keyboard has to say (0 when none); writes supply
 *       a pending command's argument, and are otherwise dropped: the keyboard takes no commands.</li>
 * </ul>
 *
 * <p>The keyboard: a "dumb" one that only sends. {@link #pressCtrlAltDel} queues the scan codes of Ctrl, Alt and
 * Delete pressed and released, as Firecracker's SendCtrlAltDel does. They are scan code set 1, which is what the
 * guest expects while bit 6 of the command byte (translation) is set, as a BIOS leaves it and Linux keeps it. Each
 * keyboard byte that reaches the output buffer raises IRQ 1 (an edge) while bit 0 of the command byte (keyboard
 * interrupt) is set. While the keyboard is disabled (bit 4) a press is not taken. Linux must not send it commands,
 * which it would wait for answers to: Panavisor boots it with {@code i8042.dumbkbd} (and {@code i8042.noaux}: no
 * mouse), and its keyboard driver then starts without asking, in set 2 translated to set 1. Linux's keyboard
 * handler turns Ctrl+Alt+Del into {@code ctrl_alt_del()} (drivers/tty/vt/keyboard.c), which either restarts the
 * machine at once or, when init asked for it ({@code /proc/sys/kernel/ctrl-alt-del} = 0), sends init SIGINT.
 */
public final class I8042 {
    public static final long DATA_PORT = 0x60;
    public static final long COMMAND_PORT = 0x64;
    /** The keyboard's ISA interrupt. */
    public static final int KEYBOARD_IRQ = 1;

    static final int STATUS_OUTPUT_FULL = 0x01;
    static final int STATUS_SYSTEM_FLAG = 0x04;
    static final int STATUS_LAST_WAS_COMMAND = 0x08;
    static final int STATUS_NOT_INHIBITED = 0x10;

    static final int CMD_READ_COMMAND_BYTE = 0x20;
    static final int CMD_WRITE_COMMAND_BYTE = 0x60;
    static final int CMD_DISABLE_AUX = 0xa7;
    static final int CMD_ENABLE_AUX = 0xa8;
    static final int CMD_SELF_TEST = 0xaa;
    static final int CMD_KEYBOARD_TEST = 0xab;
    static final int CMD_DISABLE_KEYBOARD = 0xad;
    static final int CMD_ENABLE_KEYBOARD = 0xae;
    static final int CMD_WRITE_OUTPUT_PORT = 0xd1;
    static final int CMD_PULSE_FIRST = 0xf0;

    static final int SELF_TEST_PASSED = 0x55;
    static final int COMMAND_BYTE_KEYBOARD_DISABLED = 0x10;
    static final int COMMAND_BYTE_AUX_DISABLED = 0x20;
    static final int OUTPUT_PORT_RESET = 0x01;
    static final int COMMAND_BYTE_KEYBOARD_INTERRUPT = 0x01;
    /**
     * Ctrl, Alt and Delete pressed, then released, in scan code set 1 (Delete is an extended key, prefix 0xE0; a
     * release is the press code with bit 7 set).
     */
    static final int[] CTRL_ALT_DEL = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
    /** In {@link #output}: the byte came from the keyboard (it raises IRQ 1), not from the controller. */
    private static final int FROM_KEYBOARD = 0x100;
    /** Bounds the answers queued for the guest; a guest that never reads them cannot grow it. */
    static final int OUTPUT_CAPACITY = 16;

    private final Runnable resetRequested;
    private final InterruptLine keyboardInterrupt;
    /** What the guest reads next from the data port: answers and keyboard bytes ({@link #FROM_KEYBOARD}). */
    private final ArrayDeque<Integer> output = new ArrayDeque<>();
    /** The "command byte": keyboard interrupt, system flag and scan-code translation set, as a BIOS leaves it. */
    private int commandByte = 0x45;
    private int pendingCommand = -1;
    private boolean lastWriteWasCommand;

    private final BusDevice dataPort = new BusDevice() {
        @Override
        public long read(long offset, int size) {
            Integer next = output.poll();
            interruptIfKeyboardByteWaits(); // the next byte is now in the output buffer
            return next == null ? 0 : next & 0xff;
        }

        @Override
        public void write(long offset, int size, long value) {
            writeData((int) value & 0xff);
        }

        @Override
        public String registerName(long offset, boolean write) {
            return write ? "data (input buffer)" : "data (output buffer)";
        }
    };

    private final BusDevice commandPort = new BusDevice() {
        @Override
        public long read(long offset, int size) {
            return status();
        }

        @Override
        public void write(long offset, int size, long value) {
            writeCommand((int) value & 0xff);
        }

        /** Port 0x64 is two registers: the status register when read, the command register when written. */
        @Override
        public String registerName(long offset, boolean write) {
            return write ? "command" : "status";
        }
    };

    /** A controller whose keyboard never sends anything (tests of the reset line). */
    public I8042(Runnable resetRequested) {
        this(resetRequested, asserted -> { });
    }

    /**
     * @param resetRequested    called when the guest pulses the CPU reset line; the VMM ends (or restarts) the VM
     * @param keyboardInterrupt IRQ 1
     */
    public I8042(Runnable resetRequested, InterruptLine keyboardInterrupt) {
        this.resetRequested = resetRequested;
        this.keyboardInterrupt = keyboardInterrupt;
    }

    /**
     * Presses and releases Ctrl+Alt+Del on the keyboard. Returns false, taking nothing, when the guest has the
     * keyboard disabled or has not read what it was sent before; the caller says so.
     */
    public boolean pressCtrlAltDel() {
        if ((commandByte & COMMAND_BYTE_KEYBOARD_DISABLED) != 0
                || output.size() + CTRL_ALT_DEL.length > OUTPUT_CAPACITY) {
            return false;
        }
        boolean wasEmpty = output.isEmpty();
        for (int code : CTRL_ALT_DEL) {
            output.add(code | FROM_KEYBOARD);
        }
        if (wasEmpty) {
            interruptIfKeyboardByteWaits();
        }
        return true;
    }

    /** IRQ 1 for a keyboard byte now in the output buffer, if the guest enabled the keyboard's interrupt. */
    private void interruptIfKeyboardByteWaits() {
        Integer next = output.peek();
        if (next != null && (next & FROM_KEYBOARD) != 0 && (commandByte & COMMAND_BYTE_KEYBOARD_INTERRUPT) != 0) {
            keyboardInterrupt.pulse();
        }
    }

    /** Register at {@link #DATA_PORT}, length 1. */
    public BusDevice dataPort() {
        return dataPort;
    }

    /** Register at {@link #COMMAND_PORT}, length 1. */
    public BusDevice commandPort() {
        return commandPort;
    }

    private int status() {
        return (output.isEmpty() ? 0 : STATUS_OUTPUT_FULL) | STATUS_SYSTEM_FLAG | STATUS_NOT_INHIBITED
                | (lastWriteWasCommand ? STATUS_LAST_WAS_COMMAND : 0);
    }

    private void writeCommand(int command) {
        lastWriteWasCommand = true;
        pendingCommand = -1;
        switch (command) {
            case CMD_READ_COMMAND_BYTE -> answer(commandByte);
            case CMD_WRITE_COMMAND_BYTE, CMD_WRITE_OUTPUT_PORT -> pendingCommand = command;
            case CMD_DISABLE_AUX -> commandByte |= COMMAND_BYTE_AUX_DISABLED;
            case CMD_ENABLE_AUX -> commandByte &= ~COMMAND_BYTE_AUX_DISABLED;
            case CMD_DISABLE_KEYBOARD -> commandByte |= COMMAND_BYTE_KEYBOARD_DISABLED;
            case CMD_ENABLE_KEYBOARD -> commandByte &= ~COMMAND_BYTE_KEYBOARD_DISABLED;
            case CMD_SELF_TEST -> answer(SELF_TEST_PASSED);
            case CMD_KEYBOARD_TEST -> answer(0x00);
            default -> {
                // 0xF0-0xFF: pulse the output port lines whose bit is 0 in the low nibble; bit 0 is CPU reset.
                if (command >= CMD_PULSE_FIRST && (command & OUTPUT_PORT_RESET) == 0) {
                    resetRequested.run();
                }
            }
        }
    }

    private void writeData(int value) {
        lastWriteWasCommand = false;
        int command = pendingCommand;
        pendingCommand = -1;
        if (command == CMD_WRITE_COMMAND_BYTE) {
            boolean interruptWasOff = (commandByte & COMMAND_BYTE_KEYBOARD_INTERRUPT) == 0;
            commandByte = value;
            if (interruptWasOff) {
                interruptIfKeyboardByteWaits(); // a byte that waited for the interrupt to be enabled
            }
        } else if (command == CMD_WRITE_OUTPUT_PORT && (value & OUTPUT_PORT_RESET) == 0) {
            resetRequested.run(); // reset line driven low
        }
        // Anything else would be a command for the keyboard, which takes none.
    }

    private void answer(int value) {
        if (output.size() < OUTPUT_CAPACITY) {
            output.add(value);
        }
    }
}
