package dev.panavisor.lab;

import java.util.Optional;

/**
 * One line of the lab's status port (L1's ttyS3), written by init.sh: how far setup got and how it ended. Keeping
 * this on its own port, apart from the command's output and the kernel console, is what lets the host tell
 * "the command failed" from "the lab could not start it" without guessing from text.
 */
sealed interface StatusLine {
    String PREFIX = "panavisor-lab: ";

    /** A setup step began: modules, mounts, run. */
    record Stage(String name) implements StatusLine {
    }

    /** Setup failed; {@code reason} says which step and why. */
    record Failed(String reason) implements StatusLine {
    }

    /** L1 is alive: sent every few seconds while the command runs (init.sh's heartbeat). */
    record Alive() implements StatusLine {
    }

    /** The command ran and exited with {@code code} (0-255, or 128+signal when it was killed). */
    record Exited(int code) implements StatusLine {
    }

    /** Parses a line; anything without the prefix or with an unknown verb is not a status line. */
    static Optional<StatusLine> parse(String line) {
        String text = line.strip();
        if (!text.startsWith(PREFIX)) {
            return Optional.empty();
        }
        // The last status in the line: a line cut short by a killed writer then glued to the next one still parses.
        text = text.substring(text.lastIndexOf(PREFIX) + PREFIX.length());
        int space = text.indexOf(' ');
        String verb = space < 0 ? text : text.substring(0, space);
        String rest = space < 0 ? "" : text.substring(space + 1).strip();
        return switch (verb) {
            case "stage" -> rest.isEmpty() ? Optional.empty() : Optional.of(new Stage(rest));
            case "failed" -> Optional.of(new Failed(rest.isEmpty() ? "(no reason given)" : rest));
            case "exit" -> parseCode(rest).map(Exited::new);
            case "alive" -> Optional.of(new Alive());
            default -> Optional.empty();
        };
    }

    private static Optional<Integer> parseCode(String text) {
        try {
            int code = Integer.parseInt(text);
            return code >= 0 && code <= 255 ? Optional.of(code) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
