package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class StatusLineTest {
    @Test
    void stages_failures_and_exit_codes_are_recognized() {
        assertEquals(Optional.of(new StatusLine.Stage("modules")), StatusLine.parse("panavisor-lab: stage modules"));
        assertEquals(Optional.of(new StatusLine.Failed("module kvm_amd did not load: insmod: ENODEV")),
                StatusLine.parse("panavisor-lab: failed module kvm_amd did not load: insmod: ENODEV\r"));
        assertEquals(Optional.of(new StatusLine.Exited(7)), StatusLine.parse("panavisor-lab: exit 7"));
        assertEquals(Optional.of(new StatusLine.Exited(0)), StatusLine.parse("panavisor-lab: exit 0"));
        assertEquals(Optional.of(new StatusLine.Alive()), StatusLine.parse("panavisor-lab: alive"));
        assertEquals(Optional.of(new StatusLine.Exited(0)), StatusLine.parse("panavisor-lab: apanavisor-lab: exit 0"));
    }

    @Test
    void anything_else_is_not_a_status_line() {
        assertEquals(Optional.empty(), StatusLine.parse("[    4.2] kvm: Nested Virtualization enabled"));
        assertEquals(Optional.empty(), StatusLine.parse("panavisor-lab: exit seven"));
        assertEquals(Optional.empty(), StatusLine.parse("panavisor-lab: exit 256"));
        assertEquals(Optional.empty(), StatusLine.parse("panavisor-lab: reboot now"));
        assertEquals(Optional.empty(), StatusLine.parse("panavisor-lab: stage"));
    }
}
