package dev.panavisor.cli;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.vmm.ExitHandler;

/** Process entry point: runs the root command and exits with its code. The only place that calls System.exit. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        // The very first thing, before picocli and the commands load: "JVM up" on run --timeline's report.
        long mainNanos = System.nanoTime();
        if (args.length > 0 && (args[0].equals("run") || args[0].equals("standby"))) {
            linkAhead();
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
