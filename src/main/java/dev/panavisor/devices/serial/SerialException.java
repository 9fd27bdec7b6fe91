package dev.panavisor.devices.serial;

import dev.panavisor.PanavisorException;

/** The serial port's host side failed, e.g. the terminal or file receiving guest output went away. */
public class SerialException extends PanavisorException {
    public SerialException(String message, Throwable cause) {
        super(message, cause);
    }
}
