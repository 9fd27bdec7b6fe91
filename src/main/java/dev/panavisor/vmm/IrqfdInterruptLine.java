package dev.panavisor.vmm;

import dev.panavisor.devices.InterruptLine;
import dev.panavisor.kvm.Vm;
import dev.panavisor.sys.EventFd;

/**
 * An interrupt line wired to GSI {@code gsi} of KVM's in-kernel irqchip through an irqfd (KVM_IRQFD): raising it is
 * one eventfd write, from whichever thread the device runs on (a vCPU thread, its worker, the console input thread),
 * and KVM injects the interrupt without a KVM_IRQ_LINE call or a vCPU's help.
 *
 * <p>An irqfd without a resample eventfd delivers a pulse. That matches how Panavisor's MP table declares every pin
 * (edge-triggered, {@code boot/MpTable}): the guest acts on a rising edge. So a device's line going from low to high
 * is one eventfd write, and going low again needs no call at all; the devices' level bookkeeping (the UART's IIR,
 * virtio's InterruptStatus) decides when the next rising edge comes, exactly as it did with KVM_IRQ_LINE.
 */
final class IrqfdInterruptLine implements InterruptLine, AutoCloseable {
    private final EventFd eventFd = new EventFd();
    private boolean asserted;

    IrqfdInterruptLine(Vm vm, int gsi) {
        try {
            vm.assignIrqfd(eventFd.fd(), gsi);
        } catch (RuntimeException e) {
            eventFd.close();
            throw e;
        }
    }

    @Override
    public synchronized void set(boolean level) {
        if (level && !asserted) {
            eventFd.signal();
        }
        asserted = level;
    }

    /** Closes the eventfd; after the VM is closed (which ends the irqfd registration). */
    @Override
    public void close() {
        eventFd.close();
    }
}
