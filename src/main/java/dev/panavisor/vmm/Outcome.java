package dev.panavisor.vmm;

/**
 * How a VM run ended. The CLI turns each into an exit status and, except for a clean stop, one line of text.
 */
public sealed interface Outcome {
    /** One phrase for a log line ("stopped: the guest powered off"). */
    default String describe() {
        return switch (this) {
            case Stopped stopped -> "stopped: " + stopped.how();
            case GuestPanic panic -> "guest kernel panic: " + panic.message();
            case StoppedByHost host -> "stopped by the host: " + host.why();
            case Stalled stalled -> "stalled: " + stalled.what();
            case GuestCrash crash -> "guest crashed: " + crash.reason();
        };
    }

    /** The guest asked to reset or power off (i8042 reset, or a reset system event): a clean end. */
    record Stopped(String how) implements Outcome {
    }

    /** The guest kernel panicked; {@code message} is the panic line it printed. */
    record GuestPanic(String message) implements Outcome {
    }

    /** The host stopped the VM (Ctrl-A x, a termination signal); {@code why} says who. */
    record StoppedByHost(String why) implements Outcome {
    }

    /** The guest made no progress for too long ({@link ProgressWatchdog}); {@code what} says what was seen. */
    record Stalled(String what) implements Outcome {
    }

    /** The vCPU hit a state the CPU cannot continue from: triple fault, failed entry, emulation failure. */
    record GuestCrash(String reason) implements Outcome {
    }
}
