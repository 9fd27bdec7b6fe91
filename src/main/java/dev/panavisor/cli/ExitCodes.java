package dev.panavisor.cli;

import dev.panavisor.PanavisorException;
import picocli.CommandLine;

/**
 * Exit codes of the {@code panavisor} command and the one place exceptions become them.
 *
 * <p>A {@link PanavisorException} is an expected failure (bad input, no KVM, ...): one line on stderr, no stack
 * trace. Anything else is a bug in Panavisor: one line plus a hint to rerun with PANAVISOR_DEBUG=1 for the trace.
 */
public final class ExitCodes {
    public static final int OK = 0;
    /** Expected failure: bad input, missing KVM, ... */
    public static final int ERROR = 1;
    /** Bad command-line usage (picocli's own code). */
    public static final int USAGE = 2;
    /** Internal error: a bug. */
    public static final int INTERNAL = 70;
    /** {@code run --exec}'s output went to a pipe whose reader had gone: 128 + SIGPIPE, as a shell reports it. */
    public static final int BROKEN_PIPE = 141;

    private ExitCodes() {
    }

    /**
     * Bad usage (an unknown option, a value that does not convert): one line naming the problem and where the help
     * is, exit status 2. (picocli's default prints the whole usage text after the message, which buries it.)
     */
    static final class UsageHandler implements CommandLine.IParameterExceptionHandler {
        @Override
        public int handleParseException(CommandLine.ParameterException ex, String[] args) {
            return usage(ex.getCommandLine(), ex.getMessage());
        }
    }

    /** One line naming the problem and where {@code command}'s help is; status 2. */
    static int usage(CommandLine command, String message) {
        command.getErr().println("panavisor: " + message.replaceAll("\\s*\\R\\s*", " ").strip() + " (see '"
                + command.getCommandSpec().qualifiedName() + " --help')");
        command.getErr().flush();
        return USAGE;
    }

    static final class ExceptionHandler implements CommandLine.IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception ex, CommandLine commandLine,
                CommandLine.ParseResult parseResult) {
            var err = commandLine.getErr();
            if (ex instanceof UsageException) {
                return usage(commandLine, ex.getMessage());
            }
            if (ex instanceof dev.panavisor.lab.LabOutputLostException lost) {
                // Any command that ran something in the lab (run, bench) and lost its output: as run directly.
                return RunCommand.outputLost(lost.lost(), err);
            }
            if (ex instanceof PanavisorException) {
                err.println("panavisor: " + ex.getMessage());
                if (System.getenv("PANAVISOR_DEBUG") != null) {
                    ex.printStackTrace(err);
                }
                err.flush();
                return ERROR;
            }
            return internalError(ex, err);
        }
    }

    /**
     * A bug in Panavisor or a failure of the JVM under it: one line and a hint, the stack trace only with
     * PANAVISOR_DEBUG=1. Also for an {@link Error} thrown out of a command, which picocli's handler never sees.
     */
    static int internalError(Throwable ex, java.io.PrintWriter err) {
        err.println("panavisor: internal error: " + ex);
        if (System.getenv("PANAVISOR_DEBUG") != null) {
            ex.printStackTrace(err);
        } else {
            err.println("panavisor: rerun with PANAVISOR_DEBUG=1 for details, and please report it.");
        }
        err.flush();
        return INTERNAL;
    }
}
