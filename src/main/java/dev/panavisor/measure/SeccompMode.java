package dev.panavisor.measure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process's seccomp mode as {@code /proc/PID/status} gives it (proc(5), "Seccomp"): 0 none, 1 strict, 2 filter.
 * For the comparison's isolation row: what confines a VMM process, read from the running process rather than
 * taken from its documentation.
 */
public final class SeccompMode {
    /** The value when the kernel does not report the field or the process could not be read. */
    public static final int UNKNOWN = -1;

    private SeccompMode() {
    }

    /** The mode of process {@code pid}, or {@link #UNKNOWN} when it has gone or cannot be read. */
    public static int ofProcess(long pid) {
        try {
            return parse(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
        } catch (IOException e) {
            return UNKNOWN;
        }
    }

    /** The "Seccomp:" field of the text of a {@code /proc/PID/status} file. */
    public static int parse(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("Seccomp:")) {
                try {
                    return Integer.parseInt(line.substring("Seccomp:".length()).strip());
                } catch (NumberFormatException e) {
                    return UNKNOWN;
                }
            }
        }
        return UNKNOWN;
    }
}
