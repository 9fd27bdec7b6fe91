package dev.panavisor.kvm;

/** GDTR or IDTR (struct kvm_dtable): linear base address and limit (size in bytes minus one). */
public record DescriptorTable(long base, int limit) {
}
