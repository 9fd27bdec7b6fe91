package dev.panavisor.kvm;

/** The registers of struct kvm_regs, in the struct's order: field offset = ordinal * 8. */
public enum Reg {
    RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS;

    long offset() {
        return ordinal() * 8L;
    }
}
