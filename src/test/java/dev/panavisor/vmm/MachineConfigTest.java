package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MachineConfigTest {
    private static final dev.panavisor.devices.virtio.net.MacAddress NET_MAC =
            dev.panavisor.devices.virtio.net.MacAddress.parse("06:00:ac:10:00:02");

    private static MachineConfig command(List<MachineConfig.Disk> disks, MachineConfig.CommandStdio stdio) {
        return new MachineConfig(Path.of("/k"), Optional.of(Path.of("/i")), disks, "", MachineConfig.DEFAULT_MEMORY,
                1, MachineConfig.ConsoleKind.SERIAL, Optional.of("true")).withStdio(stdio);
    }

    @Test
    void a_command_on_its_stream_ports_without_a_writable_disk_ends_at_its_exit_status() {
        assertTrue(command(List.of(), MachineConfig.CommandStdio.STREAMS).endsAtExitStatus());
        assertTrue(command(List.of(new MachineConfig.Disk(Path.of("/d.img"), true)),
                MachineConfig.CommandStdio.STREAMS).endsAtExitStatus(), "a read-only disk holds nothing to sync");
    }

    @Test
    void a_writable_disk_waits_for_the_guests_sync_and_reboot() {
        assertFalse(command(List.of(new MachineConfig.Disk(Path.of("/ro.img"), true),
                new MachineConfig.Disk(Path.of("/rw.img"), false)), MachineConfig.CommandStdio.STREAMS)
                .endsAtExitStatus());
    }

    @Test
    void a_network_card_or_vsock_device_waits_for_the_guests_end_too() {
        // The command's last packets may still be in the guest's socket buffers when its status is printed.
        MachineConfig streams = command(List.of(), MachineConfig.CommandStdio.STREAMS);
        assertFalse(streams.withNet(Optional.of(new MachineConfig.Net("tap0", NET_MAC))).endsAtExitStatus());
        assertFalse(streams.withVsock(Optional.of(new MachineConfig.Vsock(3, Path.of("/tmp/v.sock"))))
                .endsAtExitStatus());
    }

    @Test
    void a_command_whose_output_is_the_console_waits_too() {
        // Its own output could hold a status-like line; the init's last one counts, and only the reboot says so.
        assertFalse(command(List.of(), MachineConfig.CommandStdio.TTY).endsAtExitStatus());
        assertFalse(command(List.of(), MachineConfig.CommandStdio.CONSOLE).endsAtExitStatus());
    }

    @Test
    void without_a_command_there_is_no_status_to_end_at() {
        MachineConfig shell = new MachineConfig(Path.of("/k"), Optional.of(Path.of("/i")), List.of(), "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, Optional.empty());
        assertFalse(shell.withStdio(MachineConfig.CommandStdio.STREAMS).endsAtExitStatus());
    }
}
