package dev.panavisor.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root {@code panavisor} command; each verb is a subcommand class in this package. */
@Command(name = "panavisor",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "A KVM micro-hypervisor written in Java (Panama FFM).",
        subcommands = {
                CheckCommand.class,
                BenchCommand.class,
                RunCommand.class,
                ImageCommand.class,
                LabCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class PanavisorCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** A command line with Panavisor's exception mapping installed; tests use this to run commands in-process. */
    public static CommandLine newCommandLine() {
        CommandLine commandLine = new CommandLine(new PanavisorCommand());
        commandLine.setExecutionExceptionHandler(new ExitCodes.ExceptionHandler());
        commandLine.setCaseInsensitiveEnumValuesAllowed(true); // --console virtio
        return commandLine;
    }
}
