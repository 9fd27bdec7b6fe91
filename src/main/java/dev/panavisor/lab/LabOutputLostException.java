package dev.panavisor.lab;

import java.io.IOException;

/**
 * The command's stdout or stderr could not be written on this side (its reader has gone: {@code | head -1}, or a
 * full disk); the lab stopped QEMU, as a VMM stops its VM when the command's output cannot be written. {@link #lost()}
 * is the write's error, for the caller's exit status (a broken pipe is SIGPIPE's 141 to a shell).
 */
public final class LabOutputLostException extends LabException {
    private final IOException lost;

    public LabOutputLostException(IOException lost) {
        super("the command's output could not be written: " + lost.getMessage() + "; QEMU was stopped");
        this.lost = lost;
    }

    public IOException lost() {
        return lost;
    }
}
