package dev.panavisor.cli;

import picocli.CommandLine.Command;

/** {@code panavisor check}: is /dev/kvm here, usable, and able to boot Linux? */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check /dev/kvm: presence, permissions, API version, capabilities and what backs it.")
final class CheckCommand implements java.util.concurrent.Callable<Integer> {
    @Override
    public Integer call() {
        return ExitCodes.OK;
    }
}
