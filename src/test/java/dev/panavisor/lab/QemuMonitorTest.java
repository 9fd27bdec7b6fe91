package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The stall report's summary of HMP's "info registers -a" (the answer's text as QMP sends it, JSON-escaped). */
class QemuMonitorTest {
    @Test
    void each_vcpus_rip_cr3_and_halt_state_are_picked_out() {
        String reply = "{\"return\": \"\\r\\nCPU#0\\r\\nRAX=0000000000000000 RBX=ffffffff82a13940\\r\\n"
                + "RIP=ffffffff81a3c1e2 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\\r\\n"
                + "CR0=80050033 CR2=00007f0c2a1b2000 CR3=0000000102a8e000 CR4=00350ef0\\r\\n"
                + "CPU#1\\r\\nRIP=ffffffffc0a51f00 RFL=00000086 [--S--P-] CPL=0 II=0 A20=1 SMM=0 HLT=0\\r\\n"
                + "CR0=80050033 CR2=0000000000000000 CR3=0000000109f3c000 CR4=00350ef0\\r\\n\"}";
        assertEquals("vCPU 0 RIP=ffffffff81a3c1e2 CR3=0000000102a8e000 HLT=1; "
                + "vCPU 1 RIP=ffffffffc0a51f00 CR3=0000000109f3c000 HLT=0", QemuMonitor.summarize(reply));
        assertEquals("(no registers in QEMU's answer)", QemuMonitor.summarize("{\"return\": \"\"}"));
    }
}
