package dev.panavisor.kvm;

/**
 * A segment register's hidden state (struct kvm_segment): what the CPU caches from the descriptor, so a vCPU can
 * start in any mode without executing the instructions that would load it.
 *
 * @param type      descriptor type field (e.g. 0xb = execute/read code, accessed; 0x3 = read/write data, accessed)
 * @param present   P bit
 * @param dpl       descriptor privilege level
 * @param db        D/B bit: 32-bit default operand size (must be 0 for a 64-bit code segment)
 * @param s         S bit: 1 for code/data, 0 for system segments (TSS, LDT)
 * @param l         L bit: 64-bit code segment
 * @param g         G bit: limit in 4 KiB units
 * @param unusable  KVM's "segment unusable" flag (a null selector in protected mode)
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
        boolean s, boolean l, boolean g, boolean avl, boolean unusable) {
}
