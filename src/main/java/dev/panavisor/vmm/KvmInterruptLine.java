package dev.panavisor.vmm;

import dev.panavisor.devices.InterruptLine;
import dev.panavisor.kvm.Vm;
import dev.panavisor.sys.EventFd;
import java.util.ArrayList;
import java.util.List;

/**
 * An interrupt line wired to GSI {@code gsi} of KVM's in-kernel irqchip, raised the way that costs the guest least
 * from the thread that raises it:
 *
 * <ul>
 *   <li><b>From a device worker, the console input thread, the network's receive thread</b>: through an irqfd
 *       (KVM_IRQFD). Raising it is one eventfd write, and KVM injects the interrupt without a KVM_IRQ_LINE call or a
 *       vCPU's help, so the worker goes straight on to its next batch. For an IOAPIC pin KVM does the injection on
 *       a kernel worker thread (virt/kvm/eventfd.c, {@code irqfd_inject}: only MSIs are delivered inside the write),
 *       which then kicks the vCPU out of the guest to take it.</li>
 *   <li><b>From a vCPU thread, inside an exit</b> (the UART, whose THR and IER writes raise its interrupt; the
 *       virtio console's output, served in the exit; the i8042): through KVM_IRQ_LINE on that thread, once the exit
 *       has been handled ({@link #pulseRaised}), one edge per line and exit. The interrupt is then pending in the
 *       in-kernel irqchip before the vCPU re-enters the guest, and is taken on that entry: no kernel worker to wake,
 *       no kick, no second exit. QEMU raises its UART's pin the same way. Measured in docs/performance.md
 *       ("Consoles").</li>
 * </ul>
 *
 * <p>Why at the exit's end: a device may take back an edge it raised in the same exit ({@link #withdraw}): the
 * transmit writes KVM held in its coalesced ring reach the UART at the next exit ({@code CoalescedWrites}) and raise
 * THRE at once, and when that exit is Linux's IER write that turns THRE off, the guest could never have seen the
 * edge: sent, it would only bring an interrupt whose handler finds nothing, after one more exit. With one vCPU no
 * guest instruction runs between the writes an exit hands over and the access that made it, so dropping it there is
 * exact; with several, another vCPU's access may come between, and the edge is dropped only if nothing lowered the
 * line in the meantime. An edge the guest's read consumed (IIR) is still sent: Linux's 8250 handler, which gives up
 * after 512 passes, may leave its last transmit writes in the ring, and that interrupt is what brings it back.
 *
 * <p>Both give a pulse, which matches how Panavisor's MP table declares every pin (edge-triggered,
 * {@code boot/MpTable}): the guest acts on a rising edge. So a device's line going from low to high is one eventfd
 * write or a KVM_IRQ_LINE raise and lower, and going low again needs no call at all; the devices' level bookkeeping
 * (the UART's IIR, virtio's InterruptStatus) decides when the next rising edge comes.
 */
final class KvmInterruptLine implements InterruptLine, AutoCloseable {
    /**
     * On a vCPU thread, the lines raised during the exit being handled, pulsed by {@link #pulseRaised}; null on
     * every other thread. Set by {@link #onVcpuThread()}.
     */
    private static final ThreadLocal<List<KvmInterruptLine>> RAISED_IN_EXIT = new ThreadLocal<>();

    private final EventFd eventFd;
    /** KVM_IRQ_LINE high then low: an edge from a vCPU thread. */
    private final Runnable pulse;
    /** The irqfd's eventfd write: an edge from any other thread. */
    private final Runnable signal;
    private boolean asserted;
    /** Raised on a vCPU thread and not yet pulsed: on that thread's list until its exit ends. */
    private boolean awaitingPulse;
    /** The edge awaiting its pulse was lowered by the guest's read of its reason (another vCPU's, with SMP). */
    private boolean consumed;
    /** The edge awaiting its pulse was withdrawn before anything consumed it, and not raised again since. */
    private boolean withdrawn;

    KvmInterruptLine(Vm vm, int gsi) {
        this.eventFd = new EventFd();
        try {
            vm.assignIrqfd(eventFd.fd(), gsi);
        } catch (RuntimeException e) {
            eventFd.close();
            throw e;
        }
        this.pulse = () -> {
            vm.setIrqLine(gsi, true);
            vm.setIrqLine(gsi, false);
        };
        this.signal = eventFd::signal;
    }

    /** A line that pulses and signals through these; for tests. */
    KvmInterruptLine(Runnable pulse, Runnable signal) {
        this.eventFd = null;
        this.pulse = pulse;
        this.signal = signal;
    }

    /**
     * Marks the calling thread as a vCPU thread: lines it raises go through KVM_IRQ_LINE when its exit ends. Returns
     * the thread's list of lines raised in the current exit, for {@link #pulseRaised}.
     */
    static List<KvmInterruptLine> onVcpuThread() {
        List<KvmInterruptLine> raised = new ArrayList<>();
        RAISED_IN_EXIT.set(raised);
        return raised;
    }

    @Override
    public synchronized void set(boolean level) {
        if (level && !asserted) {
            List<KvmInterruptLine> raised = RAISED_IN_EXIT.get();
            if (raised == null) {
                signal.run();
            } else if (!awaitingPulse) {
                awaitingPulse = true;
                raised.add(this);
            }
            withdrawn = false;
        } else if (!level && asserted && awaitingPulse) {
            consumed = true;
        }
        asserted = level;
    }

    @Override
    public synchronized void withdraw() {
        withdrawn = awaitingPulse && !consumed;
        asserted = false;
    }

    /**
     * On a vCPU thread once its exit is handled, before it re-enters the guest: one pulse for each line raised during
     * the exit and not withdrawn since (see the class comment).
     */
    static void pulseRaised(List<KvmInterruptLine> raised) {
        for (int i = 0; i < raised.size(); i++) { // indexed: no iterator allocated per exit
            raised.get(i).pulseIfNotWithdrawn();
        }
        raised.clear();
    }

    private synchronized void pulseIfNotWithdrawn() {
        if (!withdrawn) {
            pulse.run();
        }
        awaitingPulse = false;
        consumed = false;
        withdrawn = false;
    }

    /** Closes the eventfd; after the VM is closed (which ends the irqfd registration). */
    @Override
    public void close() {
        if (eventFd != null) {
            eventFd.close();
        }
    }
}
