package dev.panavisor.cli;

/** Process entry point: runs the root command and exits with its code. The only place that calls System.exit. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        // The very first thing, before picocli and the commands load: "JVM up" on run --timeline's report.
        long mainNanos = System.nanoTime();
        if (args.length > 0 && (args[0].equals("run") || args[0].equals("standby"))) {
            linkNativeCallsAhead();
        }
        int status;
        try {
            status = PanavisorCommand.newCommandLine(mainNanos, args).execute(args);
        } catch (Error e) { // picocli hands only exceptions to ExitCodes; an Error would print a stack trace
            status = ExitCodes.internalError(e, new java.io.PrintWriter(System.err, true));
        }
        System.exit(status);
    }

    /**
     * Starts linking the native calls that every VM makes, on a thread of its own, while this one parses the
     * command line: a run that boots needs them a few hundred milliseconds later ({@code Libc.linkAhead}). A
     * failure here is left for the run's own first call to report, with its message.
     */
    private static void linkNativeCallsAhead() {
        Thread.ofPlatform().name("link-ahead").daemon().start(() -> {
            try {
                dev.panavisor.sys.Libc.linkAhead();
            } catch (RuntimeException | LinkageError e) {
                // the run's first call fails the same way, and says so
            }
        });
    }
}
