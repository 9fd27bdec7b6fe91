package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells {@code run --verbose} about port and MMIO accesses no device claimed ({@link Bus}: a read gets all ones,
 * a write is dropped). A booting Linux probes for hardware that a microVM does not have — legacy PIC and DMA
 * ports, a second serial port, the PS/2 mouse — and some of those it repeats thousands of times (port 0x80, the
 * "delay" port), so each address is reported the first time only; after {@value #ADDRESS_LIMIT} addresses one
 * line says that further ones are not shown. docs/boot.md, "Ports Linux touches that are not devices here", says
 * what the usual ones are.
 */
final class UnclaimedAccesses implements Bus.MissListener {
    static final int ADDRESS_LIMIT = 64;

    private final EventLog log;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();

    UnclaimedAccesses(EventLog log) {
        this.log = log;
    }

    @Override
    public void missed(Bus bus, long address, int size, boolean write, long value) {
        String key = bus.name() + "@" + address;
        if (seen.size() > ADDRESS_LIMIT || !seen.add(key)) {
            return;
        }
        if (seen.size() > ADDRESS_LIMIT) {
            log.event("unclaimed accesses at more than " + ADDRESS_LIMIT + " addresses: further ones are not shown");
            return;
        }
        log.event(String.format("%s: no device at 0x%x: %s of %d byte%s %s (first access there; later ones not "
                        + "shown)", bus.name(), address, write ? "write" : "read", size, size == 1 ? "" : "s",
                write ? String.format("0x%x dropped", value) : String.format("answered 0x%x", value)));
    }
}
