package dev.panavisor.devices.legacy;

import dev.panavisor.bus.BusDevice;
import java.util.ArrayDeque;

/**
 * Just enough of the PC/AT keyboard controller (Intel 8042) for a Linux guest to reboot: writing command 0xFE to
 * port 0x64 pulses the CPU reset line, which is how Linux's default "kbd" reboot method ends (arch/x86 reboot:
 * it waits for the input buffer to be empty, then writes 0xFE to 0x64). Panavisor turns that into a call to the
 * injected reset callback, and the VMM ends the VM.
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
 *   <li>0x60: data. Reads take the next byte the controller has to say (0 when none); writes supply a pending
 *       command's argument, and are otherwise dropped: no keyboard is attached.</li>
 * </ul>
 * No keyboard or mouse is attached and no interrupt is ever raised (IRQ 1/12 stay quiet). A guest built with the
 * i8042 driver will find no devices behind the controller; boot it with {@code i8042.noaux} or without
 * CONFIG_SERIO_I8042 to skip the probes.
 */
public final class I8042 {
    public static final long DATA_PORT = 0x60;
    public static final long COMMAND_PORT = 0x64;

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
    /** Bounds the answers queued for the guest; a guest that never reads them cannot grow it. */
    static final int OUTPUT_CAPACITY = 16;

    private final Runnable resetRequested;
    private final ArrayDeque<Integer> output = new ArrayDeque<>();
    /** The "command byte": keyboard interrupt, system flag and scan-code translation set, as a BIOS leaves it. */
    private int commandByte = 0x45;
    private int pendingCommand = -1;
    private boolean lastWriteWasCommand;

    private final BusDevice dataPort = new BusDevice() {
        @Override
        public long read(long offset, int size) {
            Integer next = output.poll();
            return next == null ? 0 : next;
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

    /** @param resetRequested called when the guest pulses the CPU reset line; the VMM ends (or restarts) the VM */
    public I8042(Runnable resetRequested) {
        this.resetRequested = resetRequested;
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
            commandByte = value;
        } else if (command == CMD_WRITE_OUTPUT_PORT && (value & OUTPUT_PORT_RESET) == 0) {
            resetRequested.run(); // reset line driven low
        }
        // Anything else would be for the keyboard, and there is none.
    }

    private void answer(int value) {
        if (output.size() < OUTPUT_CAPACITY) {
            output.add(value);
        }
    }
}
