package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;

/** A child JVM for {@link FlightRecorderEventsTest}: a VM's event sources at work, with JFR never started. */
public final class NoFlightRecorderMain {
    private NoFlightRecorderMain() {
    }

    public static void main(String[] args) {
        ExitHandler handler = new ExitHandler(new Bus("port I/O"), new Bus("MMIO"));
        handler.handle(new VcpuExit.IoOut(0x80, 1, 1, ExitData.of(0)));
        new VirtioBlock(new HeapDiskBackend(new byte[16 * 512], false), "vda");
        BootTimeline timeline = new BootTimeline(System.nanoTime());
        timeline.mark(BootTimeline.Phase.VM_CREATED);
        timeline.emitMarkedPhases();
        System.out.println("handled");
    }
}
