package dev.panavisor.lab;

/**
 * How QEMU's TCG runs L1's virtual CPUs on host threads ({@code -accel tcg,thread=...}).
 *
 * <p>{@link #MULTI}: one host thread per vCPU, so L1's CPUs really run at once (QEMU's "MTTCG"). {@link #SINGLE}:
 * one host thread runs every vCPU in turn, a slice each; L1 still sees several CPUs, but never two executing at the
 * same instant. The choice matters for code that one CPU rewrites while another runs it (a JIT patching its
 * methods, the kernel's live patching of static keys): docs/lab.md, "Stalls" and "JVM crashes inside L1".
 */
public enum TcgThreads {
    SINGLE("single"), MULTI("multi");

    /** What the lab uses unless told otherwise. */
    public static final TcgThreads DEFAULT = MULTI;

    private final String qemuValue;

    TcgThreads(String qemuValue) {
        this.qemuValue = qemuValue;
    }

    /** The value of QEMU's {@code thread=} accelerator property. */
    public String qemuValue() {
        return qemuValue;
    }
}
