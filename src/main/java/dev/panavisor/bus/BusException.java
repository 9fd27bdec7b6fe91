package dev.panavisor.bus;

import dev.panavisor.PanavisorException;

/** A bus set-up error, such as two devices claiming overlapping address ranges. */
public class BusException extends PanavisorException {
    public BusException(String message) {
        super(message);
    }
}
