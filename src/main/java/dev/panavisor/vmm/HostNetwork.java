package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.net.NetBackend;
import dev.panavisor.devices.virtio.net.VirtioNet;
import java.util.function.Consumer;

/**
 * The host side of a network card, as {@link Machine} drives it: a {@link NetBackend} for the frames the guest
 * sends (called on the device's worker), a receive thread of its own for the frames the host sends, and a wake-up
 * for that thread when the guest posts receive buffers. {@link TapNetwork} and {@link PasstNetwork} are the two.
 */
interface HostNetwork extends NetBackend, AutoCloseable {
    /**
     * Starts the receive thread, delivering into {@code device} under {@code lock} (its transport's monitor).
     *
     * @param failed told about an error the receive path cannot recover from: the VM ends
     */
    void start(VirtioNet device, Object lock, Consumer<Throwable> failed);

    /** Called by the device when receive buffers may have appeared: wakes the receive thread. */
    void wake();

    /**
     * An eventfd the receive thread waits on, for KVM to signal directly when the guest notifies the receive queue
     * (an ioeventfd): the notification then wakes the receive thread itself instead of the device's worker, which
     * would only wake it in turn ({@link #wake()}). -1 when the receive thread waits some other way.
     */
    default int receiveNotificationFd() {
        return -1;
    }

    /** How many times the receive thread woke up for the guest (its notifications): progress for the stall watchdog. */
    default long wakeups() {
        return 0;
    }

    /**
     * Ends sending, as soon as the VM ends (and again at {@link #close()}): a {@link #transmit} blocked on a host
     * side that has stopped reading (a passt that hangs) returns with an error, the frame dropped. Otherwise it would
     * hold the device's worker, whose join the VM's end waits for, and a vCPU whose guest resets the card, which
     * waits in user space, where no kick reaches it, for the transmit in flight. From here on the host side's own
     * end is expected, not reported. Nothing to do where sending never blocks for long (a TAP drops what it cannot
     * queue).
     */
    default void stopSending() {
    }

    /** Stops the receive thread, waits for it, and lets go of the host side. */
    @Override
    void close();
}
