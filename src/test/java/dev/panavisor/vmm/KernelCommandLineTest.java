package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KernelCommandLineTest {
    private static final MachineConfig CONFIG = new MachineConfig(Path.of("/k"), Optional.of(Path.of("/i")), List.of(),
            "loglevel=3", MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, Optional.empty());

    @Test
    void without_a_timeline_the_kernel_stays_quiet_and_untimed() {
        String line = KernelCommandLine.build(CONFIG, List.of());
        assertEquals(line, KernelCommandLine.build(CONFIG, List.of(), false));
        assertTrue(line.contains(" quiet "), line);
        assertFalse(line.contains("printk.time"), line);
        assertEquals(line.indexOf("loglevel="), line.indexOf("loglevel=3"), "only the user's own loglevel: " + line);
    }

    /** Panavisor has one UART: the kernel is told so, and probes no other legacy port. */
    @Test
    void the_8250_driver_looks_for_one_uart_only() {
        List<String> words = List.of(KernelCommandLine.build(CONFIG, List.of()).split(" "));
        assertTrue(words.contains("8250.nr_uarts=1"), words.toString());
        assertEquals(1, words.stream().filter(w -> w.startsWith("8250.nr_uarts=")).count(), words.toString());
    }

    @Test
    void a_timeline_asks_for_timestamps_and_informational_messages_after_quiet_and_before_the_users_words() {
        List<String> words = List.of(KernelCommandLine.build(CONFIG, List.of(), true).split(" "));
        int quiet = words.indexOf("quiet");
        int loglevel = words.indexOf("loglevel=7");
        assertTrue(words.contains("printk.time=1"), words.toString());
        assertTrue(quiet >= 0 && loglevel > quiet, "loglevel=7 must follow quiet to override it: " + words);
        assertEquals("loglevel=3", words.getLast(), "the user's --cmdline still has the last word");
    }

    @Test
    void the_init_learns_where_a_commands_streams_go() {
        MachineConfig exec = new MachineConfig(Path.of("/k"), Optional.empty(), List.of(), "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, Optional.of("cat"));
        assertFalse(KernelCommandLine.build(exec, List.of()).contains("panavisor.stdio"), "the console, as before");
        assertTrue(KernelCommandLine.build(exec.withStdio(MachineConfig.CommandStdio.STREAMS), List.of())
                .contains(" panavisor.stdio=ports"));
        assertTrue(KernelCommandLine.build(exec.withStdio(MachineConfig.CommandStdio.TTY), List.of())
                .contains(" panavisor.stdio=tty"));
        assertFalse(KernelCommandLine.build(CONFIG.withStdio(MachineConfig.CommandStdio.STREAMS), List.of())
                .contains("panavisor.stdio"), "no command, no streams: the console is the guest's terminal");
    }

    @Test
    void the_stream_ports_are_one_more_virtio_device_only_for_a_command() {
        MachineConfig exec = new MachineConfig(Path.of("/k"), Optional.empty(), List.of(), "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.VIRTIO, Optional.of("cat"));
        assertEquals(1, MachineConfig.declaredDevices(exec).size());
        assertEquals(2, MachineConfig.declaredDevices(exec.withStdio(MachineConfig.CommandStdio.STREAMS)).size());
        assertEquals(1, MachineConfig.declaredDevices(exec.withStdio(MachineConfig.CommandStdio.TTY)).size());
        assertFalse(CONFIG.withStdio(MachineConfig.CommandStdio.STREAMS).hasStreamPorts());
    }

    @Test
    void the_user_network_configures_the_guest_unless_the_user_did() {
        MachineConfig.Net user = new MachineConfig.Net(new MachineConfig.UserNetwork(List.of()),
                dev.panavisor.devices.virtio.net.MacAddress.DEFAULT);
        MachineConfig config = CONFIG.withNet(Optional.of(user));
        assertTrue(KernelCommandLine.build(config, List.of()).contains(" ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"));
        MachineConfig own = new MachineConfig(Path.of("/k"), Optional.empty(), List.of(), "quiet ip=dhcp",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, Optional.empty(),
                MachineConfig.CommandStdio.CONSOLE).withNet(Optional.of(user));
        String line = KernelCommandLine.build(own, List.of());
        assertEquals(1, line.split(" ip=", -1).length - 1, line);
        assertTrue(line.endsWith("ip=dhcp"), line);
        assertFalse(KernelCommandLine.build(CONFIG, List.of()).contains("ip="), "no card, no address");
    }

    @Test
    void a_network_card_is_one_more_virtio_device_declared_on_the_command_line() {
        MachineConfig.Net net = new MachineConfig.Net("tap0", dev.panavisor.devices.virtio.net.MacAddress.DEFAULT);
        MachineConfig streams = new MachineConfig(Path.of("/k"), Optional.empty(), List.of(), "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, Optional.of("true"),
                MachineConfig.CommandStdio.STREAMS);
        assertEquals(1, MachineConfig.declaredDevices(streams).size());
        MachineConfig withNet = streams.withNet(Optional.of(net));
        assertEquals(2, MachineConfig.declaredDevices(withNet).size());
        assertEquals(net, withNet.withStdio(MachineConfig.CommandStdio.TTY).net().orElseThrow(), "kept by withStdio");
        String line = KernelCommandLine.build(withNet, MachineConfig.declaredDevices(withNet));
        assertTrue(line.contains("virtio_mmio.device="), line);
        assertEquals(2, line.split("virtio_mmio.device=", -1).length - 1, line);
    }
}
