package dev.panavisor.lab;

import java.time.Duration;

/**
 * L1 itself stopped making progress: its heartbeat (a line on the status port every few seconds while the command
 * runs) did not arrive for {@code silence}. QEMU has been stopped. This is told apart from a slow command, which
 * keeps L1 beating, and from the overall time limit ({@link LabTimeoutException}).
 */
public final class LabStalledException extends LabException {
    public LabStalledException(Duration silence, String stage, int nmis) {
        super("L1 made no progress for " + Durations.format(silence) + " (no heartbeat " + stage
                + (nmis > 0 ? "; " + nmis + (nmis == 1 ? " NMI" : " NMIs") + " did not wake it" : "")
                + "); QEMU was stopped");
    }
}
