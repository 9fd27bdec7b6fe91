package dev.panavisor.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root {@code panavisor} command; each verb is a subcommand class in this package. */
@Command(name = "panavisor",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "A KVM micro-hypervisor written in Java (Panama FFM).")
public final class PanavisorCommand implements Runnable {
    /** Not known: the command was not started from {@link Main} (tests run commands in-process). */
    static final long NO_MAIN_NANOS = Long.MIN_VALUE;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** When {@link Main#main} was entered ({@link System#nanoTime()}), or {@link #NO_MAIN_NANOS}. */
    private final long mainNanos;

    private PanavisorCommand(long mainNanos) {
        this.mainNanos = mainNanos;
    }

    long mainNanos() {
        return mainNanos;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** A command line with Panavisor's exception mapping installed; tests use this to run commands in-process. */
    public static CommandLine newCommandLine() {
        return newCommandLine(NO_MAIN_NANOS);
    }

    /**
     * As above, for a process whose {@code main} was entered at {@code mainNanos} (run --timeline's "JVM up"),
     * with the subcommands {@code args} can reach. picocli builds the model of every command it is given, by
     * reflection, before it parses anything; for {@code run}, the one command on a boot's critical path, only
     * {@code run} is given (docs/performance.md, "Start-up": the other commands' models cost the lab's emulated
     * CPU about a second).
     */
    static CommandLine newCommandLine(long mainNanos, String... args) {
        CommandLine commandLine = new CommandLine(new PanavisorCommand(mainNanos));
        if (args.length > 0 && args[0].equals("run")) {
            commandLine.addSubcommand(new RunCommand());
        } else {
            commandLine.addSubcommand(new CheckCommand());
            commandLine.addSubcommand(new BenchCommand());
            commandLine.addSubcommand(new RunCommand());
            commandLine.addSubcommand(new ServeCommand());
            commandLine.addSubcommand(new StandbyCommand());
            commandLine.addSubcommand(new ImageCommand());
            commandLine.addSubcommand(new LabCommand());
            commandLine.addSubcommand(new CommandLine.HelpCommand());
        }
        commandLine.setExecutionExceptionHandler(new ExitCodes.ExceptionHandler());
        commandLine.setParameterExceptionHandler(new ExitCodes.UsageHandler());
        commandLine.setCaseInsensitiveEnumValuesAllowed(true); // --console virtio
        return commandLine;
    }
}
