package dev.panavisor.vmm;

import java.io.PrintStream;

/**
 * Where the VMM says what it decided, one line per event: {@code run --verbose} (device resets and activations,
 * DEVICE_NEEDS_RESET, block request errors, unclaimed port and MMIO accesses, vCPUs starting and stopping) and
 * {@code run --trace exits} (every exit, decoded). There is no global logger: the composition root
 * ({@link Machine#create}) is handed a sink and gives it to whoever reports, so a test hands in a list.
 *
 * <p>Called from vCPU threads and device workers at once: an implementation must be thread-safe.
 */
@FunctionalInterface
public interface EventLog {
    /** Nothing is reported; the default. */
    EventLog OFF = line -> { };

    void event(String line);

    /** Lines on {@code err}, each prefixed {@code "panavisor: "} and flushed at once (a boot that hangs shows why). */
    static EventLog to(PrintStream err) {
        return line -> {
            synchronized (err) {
                err.println("panavisor: " + line);
                err.flush();
            }
        };
    }
}
