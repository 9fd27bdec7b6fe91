package dev.panavisor.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A VMM run started by a benchmark that failed, ran out of time or printed no result. Its message is one line, as
 * every error's; the last lines of the run's output, which usually say why, travel beside it for the command to
 * print on stderr first ({@link #printTail}), as {@code run} prints its guest console's last lines when the guest
 * fails. The whole output (a kernel log, a JVM's timeline) would bury the line that matters.
 */
final class RunFailedException extends CommandFailedException {
    static final int TAIL_LINES = 15;

    private final String program;
    private final List<String> tail;

    /** {@code what} went wrong with {@code program}'s run, whose output (stdout and stderr) was {@code output}. */
    RunFailedException(String program, String what, String output) {
        this(program, what, lastLines(output));
    }

    private RunFailedException(String program, String what, List<String> tail) {
        super(what + (tail.isEmpty() ? "; it printed nothing" : "; the last lines it printed are above"));
        this.program = program;
        this.tail = tail;
    }

    /** The name a run's command goes by in messages: "panavisor" for a Panavisor JVM, else the program's name. */
    static String programName(List<String> command) {
        if (command.contains(Main.class.getName())) {
            return "panavisor";
        }
        Path program = Path.of(command.getFirst()).getFileName();
        return program == null ? command.getFirst() : program.toString();
    }

    List<String> tail() {
        return tail;
    }

    /** The run's last lines, under a line that says whose they are; nothing when it printed nothing. */
    void printTail(PrintWriter err) {
        if (tail.isEmpty()) {
            return;
        }
        err.println("last lines of " + program + "'s output:");
        tail.forEach(line -> err.println("  " + line));
        err.flush();
    }

    /** The last {@link #TAIL_LINES} non-blank lines, without the console's carriage returns. */
    static List<String> lastLines(String output) {
        List<String> lines = Arrays.stream(output.split("\n")).map(String::stripTrailing)
                .filter(line -> !line.isEmpty()).toList();
        return List.copyOf(lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size()));
    }
}
