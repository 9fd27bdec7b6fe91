package dev.panavisor.devices;

/**
 * An interrupt line as a device model sees it. The VMM wires it to KVM (KVM_IRQ_LINE or an irqfd); tests wire it
 * to a recorder. Level semantics: {@link #set(boolean)} drives the line; edge-style devices call {@link #pulse()}.
 */
public interface InterruptLine {
    void set(boolean asserted);

    /** An edge: assert then deassert. */
    default void pulse() {
        set(true);
        set(false);
    }
}
