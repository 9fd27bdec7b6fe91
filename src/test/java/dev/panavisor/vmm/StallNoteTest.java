package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.devices.serial.Uart8250;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;

class StallNoteTest {
    private final Uart8250 uart = new Uart8250(new ByteArrayOutputStream(), level -> { });

    @Test
    void names_the_held_writes_and_the_uarts_interrupt_registers() {
        uart.write(1, 1, 0x02); // IER: THRE interrupt on, which raises it
        assertEquals("; 16 writes held in KVM's coalesced ring, the 8250's IER 0x2, IIR 0x2, line high",
                StallNote.of(16, uart));
    }

    @Test
    void says_so_when_the_vm_has_no_ring() {
        assertEquals("; no coalesced ring, the 8250's IER 0x0, IIR 0x1, line low", StallNote.of(-1, uart));
    }
}
