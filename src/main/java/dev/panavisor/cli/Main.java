package dev.panavisor.cli;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.vmm.ExitHandler;
import picocli.CommandLine;

/** Process entry point: runs the root command and exits with its code. The only place that calls System.exit. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        // The very first thing, before picocli and the commands load: "JVM up" on run --timeline's report.
        long mainNanos = System.nanoTime();
        // picocli's default factory looks for Groovy's Closure class as it loads, a search of every jar on the class
        // path for a class none has (see below); Panavisor's commands are not Groovy closures.
        System.setProperty("picocli.disable.closures", "true");
        boolean run = args.length > 0 && args[0].equals("run");
        if (run || (args.length > 0 && args[0].equals("standby"))) {
            linkAhead();
        }
        int status;
        CommandLine commandLine = null;
        try {
            commandLine = PanavisorCommand.newCommandLine(mainNanos, args);
            status = commandLine.execute(args);
        } catch (Error e) { // picocli hands only exceptions to ExitCodes; an Error would print a stack trace
            status = ExitCodes.internalError(e, new java.io.PrintWriter(System.err, true));
        }
        if (run) {
            end(status, commandLine);
        }
        System.exit(status);
    }

    /**
     * Ends a {@code run} with {@code Runtime.halt} once its output is flushed, not through {@code System.exit}:
     * since JDK 21 that logs the exit through a {@code System.Logger}, whose first use looks for a logging backend on
     * the class path, which opens every jar on it and reads each one's whole directory of entries, in Java code not
     * yet compiled (about a third of a second in the nested lab, docs/performance.md, "A jar of Panavisor's own
     * classes"). A run leaves nothing for the JVM's shutdown to do: it removes its termination-signal hook, and the
     * terminal's and the lab's hooks, when it closes them. Two cases return instead, to {@code System.exit}: a
     * shutdown already under way (a termination signal's: its status, 143 or 130, is the process's, and
     * {@code System.exit} waits for it), and a JVM with Flight Recorder running (a recording started with
     * {@code -XX:StartFlightRecording} is written by JFR's shutdown hook).
     */
    private static void end(int status, CommandLine commandLine) {
        if (commandLine != null) {
            commandLine.getOut().flush();
            commandLine.getErr().flush();
        }
        System.out.flush();
        System.err.flush();
        if (!shutdownUnderWay() && !jdk.jfr.FlightRecorder.isInitialized()) {
            Runtime.getRuntime().halt(status);
        }
    }

    /** Whether the JVM's shutdown has begun: it refuses any change to its hooks from then on. */
    private static boolean shutdownUnderWay() {
        try {
            Runtime.getRuntime().removeShutdownHook(NOT_A_HOOK); // never registered: false, unless shut down
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    private static final Thread NOT_A_HOOK = Thread.ofPlatform().unstarted(() -> { });

    /**
     * Starts linking what every VM needs first, on a thread of its own, while this one parses the command line: the
     * native calls, which a run that boots makes a few hundred milliseconds later ({@link Kvm#linkAhead}), then the
     * exit handler's switch, which its guest's first exit needs ({@link ExitHandler#linkAhead}). Nothing is reported
     * from this thread: should linking fail, the run's own first use fails too (as a NoClassDefFoundError whose
     * cause is this failure, or the same error again), and the run reports that as its one line.
     */
    private static void linkAhead() {
        Thread.ofPlatform().name("link-ahead").daemon().start(() -> {
            try {
                Kvm.linkAhead();
                ExitHandler.linkAhead(); // needed last: at the guest's first exit
            } catch (Throwable e) {
                // reported by the run, as above
            }
        });
    }
}
