package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.Occurrences;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A block device's requests that failed, counted and told: each to the VMM's event log (run --verbose), and those
 * the host's file failed (an I/O error, a full disk) to the user too, at the 1st, 10th, 100th... ({@link
 * Occurrences}), verbose or not: the guest sees an I/O error either way, but only the user can free the disk. Called
 * on the thread answering the requests, under the device's lock.
 */
final class RequestErrors {
    private final String device;
    private long count;
    private long hostFailures;
    private String last = "";
    private Consumer<String> eachListener = line -> { };
    private Consumer<String> hostListener = line -> { };

    RequestErrors(String device) {
        this.device = device;
    }

    void onEach(Consumer<String> listener) {
        this.eachListener = Objects.requireNonNull(listener);
    }

    void onHostFailure(Consumer<String> listener) {
        this.hostListener = Objects.requireNonNull(listener);
    }

    /** A request whose chain had no byte to carry its status: given back unanswered. */
    void dropped(int head) {
        count++;
        last = "request without a status byte";
        eachListener.accept(device + ": request from head " + head + " dropped: " + last);
    }

    /** A request answered with {@code status} because of {@code error}; {@code hostSide}: the host's file failed. */
    void answered(BlockStatus status, String error, boolean hostSide) {
        count++;
        last = error;
        eachListener.accept(device + ": request answered VIRTIO_BLK_S_" + status + ": " + error);
        if (hostSide && Occurrences.worthReporting(++hostFailures)) {
            hostListener.accept(device + ": the host's disk failed a request (" + hostFailures + " so far; the guest "
                    + "got an I/O error): " + error);
        }
    }

    long count() {
        return count;
    }

    String last() {
        return last;
    }
}
