package dev.panavisor.api;

/**
 * What the API's {@code /actions} start and stop: the VM itself. {@code serve} starts it as a {@code panavisor run}
 * process of its own; tests hand in a fake, so the API is tested without KVM.
 */
public interface VmLauncher {
    /**
     * Starts the VM {@code spec} describes; throws a {@link dev.panavisor.PanavisorException} with one clear line
     * when it cannot (a missing kernel, a disk that does not open), which the API returns as a 400 fault.
     */
    void start(VmSpec spec);

    /**
     * The configuration changed before the start and is complete enough to start ({@code spec}): a launcher may
     * build that VM now, as QEMU started paused has built its machine, so that the start has less to do. It must
     * not fail the request: what cannot be built now is built, and reported, by {@link #start}.
     */
    default void configured(VmSpec spec) {
    }

    /** Whether the VM started and has not ended. */
    boolean running();

    /** Asks a running VM to end ({@code SendCtrlAltDel}). */
    void ctrlAltDel();
}
