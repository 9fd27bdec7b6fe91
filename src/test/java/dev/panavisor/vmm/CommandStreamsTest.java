package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panavisor.devices.virtio.console.VirtioConsolePorts;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;

class CommandStreamsTest {
    final CommandStreams streams = new CommandStreams(new ByteArrayOutputStream(), new ByteArrayOutputStream());

    @Test
    void the_device_is_a_console_with_the_three_ports() {
        assertEquals(3, streams.device().deviceType());
        assertEquals(3, streams.device().readConfig(4, 4), "max_nr_ports");
        assertEquals(8, streams.device().queueCount());
    }

    @Test
    void input_before_the_device_is_on_a_machine_is_a_bug_said_plainly() {
        assertThrows(IllegalStateException.class, () -> streams.offerInput(new byte[1], 0, 1));
    }

    @Test
    void input_is_taken_until_close_and_refused_after() {
        streams.attach(new Object());
        assertEquals(4, streams.offerInput("data".getBytes(), 0, 4), "held until the guest opens the port");
        byte[] more = new byte[VirtioConsolePorts.INPUT_CAPACITY];
        assertEquals(VirtioConsolePorts.INPUT_CAPACITY - 4, streams.offerInput(more, 0, more.length));
        streams.close();
        assertEquals(0, streams.offerInput(more, 0, 1));
        streams.endInput(); // after close: nothing happens, nothing fails
        streams.drain();
    }
}
