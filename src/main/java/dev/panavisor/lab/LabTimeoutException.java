package dev.panavisor.lab;

import java.time.Duration;

/** The lab ran past its time limit; QEMU has been stopped. */
public final class LabTimeoutException extends LabException {
    private final Duration limit;

    public LabTimeoutException(Duration limit, String stage) {
        super("lab timed out after " + Durations.format(limit) + " (" + stage + "); QEMU was stopped");
        this.limit = limit;
    }

    public Duration limit() {
        return limit;
    }
}
