package dev.panavisor.cli;

/** Process entry point: runs the root command and exits with its code. The only place that calls System.exit. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        // The very first thing, before picocli and the commands load: "JVM up" on run --timeline's report.
        long mainNanos = System.nanoTime();
        int status;
        try {
            status = PanavisorCommand.newCommandLine(mainNanos, args).execute(args);
        } catch (Error e) { // picocli hands only exceptions to ExitCodes; an Error would print a stack trace
            status = ExitCodes.internalError(e, new java.io.PrintWriter(System.err, true));
        }
        System.exit(status);
    }
}
