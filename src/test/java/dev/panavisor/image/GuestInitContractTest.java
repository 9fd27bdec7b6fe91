package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class GuestInitContractTest {
    @Test
    void the_exec_parameter_is_base64_without_spaces_or_quotes() {
        String command = "echo 'hello world' && exit \"3\"";
        String parameter = GuestInitContract.execParameter(command);
        assertTrue(parameter.startsWith("panavisor.exec="));
        String value = parameter.substring("panavisor.exec=".length());
        assertTrue(value.matches("[A-Za-z0-9+/=]+"), value);
        assertEquals(command, new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8));
    }

    @Test
    void the_exit_status_line_is_found_among_other_console_output() {
        String console = "[    0.5] ext4 mounted\r\npanavisor-init: booted in 0.61 s\r\nhello\r\n"
                + "panavisor-exit-status: 42\r\n[    0.7] reboot: Restarting system\r\n";
        assertEquals(OptionalInt.of(42), GuestInitContract.exitStatus(console));
        assertEquals(0.61, GuestInitContract.bootSeconds(console).orElseThrow(), 1e-9);
        assertFalse(GuestInitContract.exitStatus("output: panavisor-exit-status: 1 not at line start").isPresent());
        assertFalse(GuestInitContract.exitStatus("panavisor-init: booted in 1.00 s\n").isPresent());
    }

    @Test
    void the_script_states_the_same_port_value_and_prefixes_as_the_java_contract() throws Exception {
        ImageSources sources = ImageSources.bundled();
        String init = new String(sources.init(), StandardCharsets.UTF_8);
        String marker = sources.bootMarkerSource();
        assertTrue(marker.contains("#define BOOT_MARKER_PORT 0x"
                + Integer.toHexString(GuestInitContract.BOOT_MARKER_PORT)));
        assertTrue(marker.contains("#define BOOT_MARKER_VALUE " + GuestInitContract.BOOT_MARKER_VALUE));
        assertTrue(init.contains("echo \"" + GuestInitContract.BANNER_PREFIX + "${uptime} s\""));
        assertTrue(init.contains("echo \"" + GuestInitContract.EXIT_STATUS_PREFIX + "$status\""));
        assertTrue(init.contains(GuestInitContract.EXEC_PARAMETER + "=*)"));
        assertTrue(init.contains("status=" + GuestInitContract.BAD_COMMAND_STATUS));
    }
}
