package dev.panavisor.cli;

import picocli.CommandLine;

/** Process entry point: runs the root command and exits with its code. The only place that calls System.exit. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(PanavisorCommand.newCommandLine().execute(args));
    }
}
