package dev.panavisor.cpu;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Model-specific registers set on every vCPU before the guest runs: the syscall and sysenter entry points zeroed
 * (the kernel installs its own), the TSC at zero, and IA32_MISC_ENABLE with fast string operations enabled, as
 * firmware would leave it (Intel SDM Vol. 4, "Model-Specific Registers"; Vol. 3A §7.3.9.3 on fast strings).
 */
public final class BootMsrs {
    private BootMsrs() {
    }

    public static final int IA32_SYSENTER_CS = 0x174;
    public static final int IA32_SYSENTER_ESP = 0x175;
    public static final int IA32_SYSENTER_EIP = 0x176;
    public static final int IA32_TSC = 0x10;
    public static final int IA32_MISC_ENABLE = 0x1a0;
    public static final int IA32_STAR = 0xc000_0081;
    public static final int IA32_LSTAR = 0xc000_0082;
    public static final int IA32_CSTAR = 0xc000_0083;
    public static final int IA32_FMASK = 0xc000_0084;
    public static final int IA32_KERNEL_GS_BASE = 0xc000_0102;

    public static final long MISC_ENABLE_FAST_STRINGS = 1L;

    /** MSR index -> value, in the order they are written. */
    public static Map<Integer, Long> values() {
        Map<Integer, Long> msrs = new LinkedHashMap<>();
        msrs.put(IA32_SYSENTER_CS, 0L);
        msrs.put(IA32_SYSENTER_ESP, 0L);
        msrs.put(IA32_SYSENTER_EIP, 0L);
        msrs.put(IA32_STAR, 0L);
        msrs.put(IA32_LSTAR, 0L);
        msrs.put(IA32_CSTAR, 0L);
        msrs.put(IA32_FMASK, 0L);
        msrs.put(IA32_KERNEL_GS_BASE, 0L);
        msrs.put(IA32_TSC, 0L);
        msrs.put(IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRINGS);
        return msrs;
    }
}
