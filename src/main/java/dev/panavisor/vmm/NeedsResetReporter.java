package dev.panavisor.vmm;

import java.util.function.Consumer;

/**
 * Tells the user, one line on stderr, that a virtio device entered DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2): the
 * guest's driver handed it something it refuses (a malformed descriptor chain, a queue outside guest memory) and the
 * device does nothing more until the driver resets it. Without this line a guest whose disk or console stopped
 * answering gives no hint why. Wired to each transport by {@link Machine}
 * ({@code VirtioMmioTransport.onNeedsReset}).
 *
 * <p>A hostile or broken guest can reset and break a device in a loop, so each device prints at most
 * {@value #LIMIT} such lines; the last one says that later ones are not shown.
 */
final class NeedsResetReporter implements Consumer<String> {
    static final int LIMIT = 5;

    private final EventLog notices;
    private int reported;

    /** @param notices where the lines go: the run's {@link StderrNotices}, never a write to stderr under the lock */
    NeedsResetReporter(EventLog notices) {
        this.notices = notices;
    }

    @Override
    public void accept(String reason) {
        if (++reported > LIMIT) {
            return;
        }
        notices.event(reason + "; the device stopped until the guest resets it (DEVICE_NEEDS_RESET)"
                + (reported == LIMIT ? "; further failures of this device are not shown" : ""));
    }
}
