package dev.panavisor.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The root {@code panavisor} command; each verb is a subcommand class in this package. Its model, like
 * {@code run}'s, is built without annotations ({@link RunCommandSpec} says why).
 */
public final class PanavisorCommand implements Runnable {
    /** Not known: the command was not started from {@link Main} (tests run commands in-process). */
    static final long NO_MAIN_NANOS = Long.MIN_VALUE;

    private final CommandSpec spec;

    /** When {@link Main#main} was entered ({@link System#nanoTime()}), or {@link #NO_MAIN_NANOS}. */
    private final long mainNanos;

    private PanavisorCommand(long mainNanos) {
        this.mainNanos = mainNanos;
        this.spec = CommandSpec.wrapWithoutInspection(this).name("panavisor").versionProvider(new VersionProvider());
        spec.usageMessage().description("A KVM micro-hypervisor written in Java (Panama FFM).");
        RunCommandSpec.addStandardHelpOptions(spec);
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
     * CPU about a second), and its model is built without reflection ({@link RunCommandSpec}).
     */
    static CommandLine newCommandLine(long mainNanos, String... args) {
        PanavisorCommand root = new PanavisorCommand(mainNanos);
        CommandLine commandLine = new CommandLine(root.spec);
        RunCommand run = new RunCommand();
        run.root = root;
        if (args.length > 0 && args[0].equals("run")) {
            commandLine.addSubcommand("run", new CommandLine(RunCommandSpec.run(run)));
        } else {
            commandLine.addSubcommand(new CheckCommand());
            commandLine.addSubcommand(new BenchCommand());
            commandLine.addSubcommand("run", new CommandLine(RunCommandSpec.run(run)));
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
