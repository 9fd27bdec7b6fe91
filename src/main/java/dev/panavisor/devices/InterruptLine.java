package dev.panavisor.devices;

/**
 * An interrupt line as a device model sees it. The VMM wires it to KVM (KVM_IRQ_LINE or an irqfd); tests wire it
 * to a recorder. Level semantics: {@link #set(boolean)} drives the line; edge-style devices call {@link #pulse()}.
 */
public interface InterruptLine {
    void set(boolean asserted);

    /**
     * Lowers the line because the guest turned its source off (cleared the enable bit) in the same access: an edge
     * raised earlier in the same VM exit, which the guest could not have seen, need not reach it. A line that sends
     * edges as they come has nothing to take back, and lowers ({@link #set set(false)}); the VMM's lines send a
     * vCPU's edges when its exit ends, and drop such a one.
     */
    default void withdraw() {
        set(false);
    }

    /** An edge: assert then deassert. */
    default void pulse() {
        set(true);
        set(false);
    }
}
