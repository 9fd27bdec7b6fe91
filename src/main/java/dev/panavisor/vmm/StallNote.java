package dev.panavisor.vmm;

import dev.panavisor.devices.serial.Uart8250;

/**
 * What the stall watchdog's line says about the devices, read at the moment it gives up, before the vCPUs are
 * kicked (a kicked vCPU drains KVM's coalesced ring on its way out, and the evidence with it): how many writes wait
 * in that ring, and the 8250's interrupt registers. A guest idle with transmit writes held in the ring and no exit
 * to come would be waiting for a THRE interrupt that only their drain raises; a UART line left high would be an
 * edge the guest never saw. Either would be a VMM bug (docs/performance.md, "Consoles").
 */
final class StallNote {
    private StallNote() {
    }

    /** "; N writes held in KVM's coalesced ring, the 8250's IER 0x.., IIR 0x.., line low". */
    static String of(CoalescedWrites coalesced, Uart8250 uart) {
        try {
            return of(coalesced == null ? -1 : coalesced.held(), uart);
        } catch (RuntimeException e) { // a ring index out of range: the note must never keep the VM from stopping
            return "; the coalesced ring unreadable (" + e.getMessage() + ")";
        }
    }

    /** As above, with {@code heldWrites} counted already; -1 for a VM without the ring. */
    static String of(int heldWrites, Uart8250 uart) {
        String ring = heldWrites < 0 ? "no coalesced ring" : heldWrites + " writes held in KVM's coalesced ring";
        // Read without the device's lock: a vCPU that holds it may be the stall itself (waiting for room in the
        // console's buffer, ConsoleOutput), and this thread must still get its line out. A torn read is possible
        // while a vCPU runs, which only a busy guest does, and then the registers are not the question.
        return "; " + ring + ", the 8250's " + uart.interruptState();
    }
}
