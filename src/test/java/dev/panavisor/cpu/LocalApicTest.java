package dev.panavisor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LocalApicTest {
    @Test
    void lint0_becomes_extint_and_lint1_nmi_keeping_other_bits() {
        byte[] page = new byte[1024];
        page[LocalApic.LVT_LINT0 + 2] = 0x01; // mask bit (16) set, as after reset
        page[LocalApic.LVT_LINT1 + 2] = 0x01;
        page[LocalApic.LVT_LINT1 + 1] = 0x07; // some other delivery mode already there
        byte[] wired = LocalApic.withVirtualWire(page);
        assertEquals(0x1_0700, LocalApic.register(wired, LocalApic.LVT_LINT0));
        assertEquals(0x1_0400, LocalApic.register(wired, LocalApic.LVT_LINT1));
        assertEquals(0, LocalApic.register(page, LocalApic.LVT_LINT0) & 0x700, "input not modified");
    }

    @Test
    void wrong_size_pages_are_rejected() {
        assertThrows(CpuException.class, () -> LocalApic.withVirtualWire(new byte[10]));
    }
}
