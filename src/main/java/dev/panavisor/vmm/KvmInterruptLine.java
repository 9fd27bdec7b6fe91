package dev.panavisor.vmm;

import dev.panavisor.devices.InterruptLine;
import dev.panavisor.kvm.Vm;
import dev.panavisor.sys.EventFd;

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
 *       virtio console's output, served in the exit): through KVM_IRQ_LINE on that thread. The interrupt is then
 *       pending in the in-kernel irqchip before the vCPU re-enters the guest, and is taken on that entry: no kernel
 *       worker to wake, no kick, no second exit. QEMU raises its UART's pin the same way. Measured in
 *       docs/performance.md ("Consoles").</li>
 * </ul>
 *
 * <p>Both give a pulse, which matches how Panavisor's MP table declares every pin (edge-triggered,
 * {@code boot/MpTable}): the guest acts on a rising edge. So a device's line going from low to high is one eventfd
 * write or a KVM_IRQ_LINE raise and lower, and going low again needs no call at all; the devices' level bookkeeping
 * (the UART's IIR, virtio's InterruptStatus) decides when the next rising edge comes.
 */
final class KvmInterruptLine implements InterruptLine, AutoCloseable {
    /** Set on each vCPU thread before its first KVM_RUN ({@link #onVcpuThread()}). */
    private static final ThreadLocal<Boolean> VCPU_THREAD = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private final EventFd eventFd = new EventFd();
    private final Vm vm;
    private final int gsi;
    private boolean asserted;

    KvmInterruptLine(Vm vm, int gsi) {
        this.vm = vm;
        this.gsi = gsi;
        try {
            vm.assignIrqfd(eventFd.fd(), gsi);
        } catch (RuntimeException e) {
            eventFd.close();
            throw e;
        }
    }

    /** Marks the calling thread as a vCPU thread: lines it raises go through KVM_IRQ_LINE. */
    static void onVcpuThread() {
        VCPU_THREAD.set(Boolean.TRUE);
    }

    @Override
    public synchronized void set(boolean level) {
        if (level && !asserted) {
            if (VCPU_THREAD.get()) {
                vm.setIrqLine(gsi, true);
                vm.setIrqLine(gsi, false);
            } else {
                eventFd.signal();
            }
        }
        asserted = level;
    }

    /** Closes the eventfd; after the VM is closed (which ends the irqfd registration). */
    @Override
    public void close() {
        eventFd.close();
    }
}
