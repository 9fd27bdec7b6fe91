package dev.panavisor.devices.virtio.mmio;

import dev.panavisor.devices.InterruptLine;

/**
 * A virtio-mmio device's InterruptStatus and InterruptACK registers (virtio 1.2 §4.2.2) and the interrupt line they
 * drive. Linux's handler ({@code vm_interrupt}) reads InterruptStatus, writes the value back to InterruptACK, and then
 * looks at the used rings (or the configuration) for what the bits announced.
 *
 * <p>The acknowledgement need not arrive at once. The VMM lets KVM record InterruptACK writes in its coalesced ring
 * instead of exiting for each (the guest needs no answer from a write), and hands them over at the next exit of any
 * vCPU, by when the device may have raised new events. So the rules here are written for an acknowledgement that
 * comes late:
 *
 * <ul>
 *   <li><b>An acknowledgement never clears an event the driver has not read.</b> Events raised since the last read
 *       of InterruptStatus are kept apart ({@link #unread}); a late acknowledgement of the bits read earlier leaves
 *       them set. (Had it cleared them, the driver's next read would show nothing for an interrupt that was
 *       raised.)</li>
 *   <li><b>The line is high from the first event the driver has not read until it reads InterruptStatus.</b> The
 *       pins are edge-triggered (boot/MpTable), so each rising edge is one interrupt: the first event after a read
 *       raises the line, further events before the next read join it, and the read lowers it. An acknowledgement
 *       does not move the line.</li>
 * </ul>
 *
 * <p>With an acknowledgement that arrives at once the driver sees what it did before this class existed, except in
 * one case: an event raised between its read and its acknowledgement now stays set and brings one more interrupt,
 * where it used to be cleared unseen by that acknowledgement (Linux finds its used buffers in the same pass anyway).
 * Every method runs under the transport's monitor.
 */
final class InterruptStatusRegister {
    private final InterruptLine line;
    /** The InterruptStatus bits: events raised and not yet acknowledged. */
    private int status;
    /** The events raised since the driver last read InterruptStatus: never cleared by an acknowledgement. */
    private int unread;

    InterruptStatusRegister(InterruptLine line) {
        this.line = line;
    }

    /** The device raises {@code bits}: the line rises if they are the first events since the driver's last read. */
    void raise(int bits) {
        status |= bits;
        if (unread == 0) {
            line.set(true);
        }
        unread |= bits;
    }

    /** The driver reads InterruptStatus: it has now seen every bit set, and the line falls. */
    int read() {
        if (unread != 0) {
            unread = 0;
            line.set(false);
        }
        return status;
    }

    /** The driver writes {@code bits} to InterruptACK: they are cleared, except those it has not read yet. */
    void acknowledge(int bits) {
        status &= ~(bits & ~unread);
    }

    /** A device reset: no event is left, and the line is low. */
    void reset() {
        status = 0;
        if (unread != 0) {
            unread = 0;
            line.set(false);
        }
    }

    /** The bits as the driver would read them, without reading them (for tests and diagnostics). */
    int status() {
        return status;
    }

    /** Whether the line is high: there are events the driver has not read. */
    boolean lineHigh() {
        return unread != 0;
    }
}
