package dev.panavisor.vmm;

import dev.panavisor.devices.InterruptLine;
import dev.panavisor.kvm.Vm;

/** An interrupt line wired to GSI {@code gsi} of KVM's in-kernel irqchip (KVM_IRQ_LINE). */
final class KvmInterruptLine implements InterruptLine {
    private final Vm vm;
    private final int gsi;
    private boolean asserted;

    KvmInterruptLine(Vm vm, int gsi) {
        this.vm = vm;
        this.gsi = gsi;
    }

    @Override
    public synchronized void set(boolean level) {
        if (level != asserted) { // skip the ioctl when nothing changes: devices re-evaluate their line often
            asserted = level;
            vm.setIrqLine(gsi, level);
        }
    }
}
