package dev.panavisor.vmm;

import dev.panavisor.devices.serial.Uart8250;
import dev.panavisor.kvm.CoalescedRing;
import dev.panavisor.kvm.VcpuExit;

/**
 * The writes KVM holds back in its coalesced ring (the 8250's transmit register and every virtio-mmio device's
 * InterruptACK: docs/boot.md, "Writes that do not exit"), and when they are handed to their devices: before each exit
 * is handled, and once more when the vCPUs have stopped. An exit that reaches one of those devices (a port of the
 * UART, or any MMIO register: only virtio-mmio devices live there) waits for a drain another vCPU thread has under
 * way, so the device has every earlier write before it answers; any other exit leaves the ring to that thread rather
 * than wait for a console.
 */
final class CoalescedWrites {
    private final CoalescedRing ring;
    private final CoalescedRing.Sink sink;

    CoalescedWrites(CoalescedRing ring, ExitHandler handler) {
        this.ring = ring;
        this.sink = handler::coalesced;
    }

    /** On a vCPU thread, after KVM_RUN returned {@code exit} and before it is handled. */
    void beforeHandling(VcpuExit exit) {
        if (!ring.isEmpty()) {
            ring.drain(sink, reachesCoalescedDevice(exit));
        }
    }

    /** How many writes wait in the ring for the next drain. */
    int held() {
        return ring.held();
    }

    /** Hands over whatever is left; once every vCPU thread has stopped. */
    void drainAll() {
        ring.drain(sink, true);
    }

    /**
     * Whether {@code exit} is an access to a device whose writes may wait in the ring: the UART, or MMIO. (Plain
     * instanceof: a pattern switch would generate a class.)
     */
    static boolean reachesCoalescedDevice(VcpuExit exit) {
        if (exit instanceof VcpuExit.MmioRead || exit instanceof VcpuExit.MmioWrite) {
            return true;
        }
        int port = exit instanceof VcpuExit.IoIn in ? in.port() : exit instanceof VcpuExit.IoOut out ? out.port() : -1;
        return port >= Uart8250.COM1_BASE && port < Uart8250.COM1_BASE + Uart8250.PORT_COUNT;
    }
}
