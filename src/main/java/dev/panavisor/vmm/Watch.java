package dev.panavisor.vmm;

/**
 * What a run reports while it happens, beside the guest's console.
 *
 * @param events   the VMM's decisions ({@code run --verbose}); {@link EventLog#OFF} for none
 * @param exits    every VM exit, decoded ({@code run --trace exits}); null when off, which costs the run loop one
 *                 branch per exit ({@link ExitHandler#handle})
 */
public record Watch(EventLog events, EventLog exits) {
    /** Nothing reported: what every caller but {@code run} uses. */
    public static final Watch QUIET = new Watch(EventLog.OFF, null);

    public Watch {
        java.util.Objects.requireNonNull(events, "events");
    }
}
