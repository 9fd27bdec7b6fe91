package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.mmio.MmioKernelParameter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Builds the kernel command line for a {@link MachineConfig}: console, root device, the virtio-mmio devices
 * (which a kernel without ACPI or device tree can only learn about from {@code virtio_mmio.device=}), the reboot
 * method this VMM understands, the guest init's command mode, and finally the user's own additions, which come
 * last so they override.
 */
public final class KernelCommandLine {
    private KernelCommandLine() {
    }

    /** One virtio-mmio device as the kernel must be told about it. */
    public record MmioDevice(long base, long size, int irq) {
    }

    public static String build(MachineConfig config, List<MmioDevice> devices) {
        return build(config, devices, false);
    }

    /**
     * The command line; with {@code timeline} ({@code run --timeline}), also what the boot timeline needs from the
     * guest kernel: timestamps on its messages, and its informational messages on the console.
     */
    public static String build(MachineConfig config, List<MmioDevice> devices, boolean timeline) {
        List<String> words = new ArrayList<>();
        words.add(config.console() == MachineConfig.ConsoleKind.SERIAL ? "console=ttyS0" : "console=hvc0");
        // Reset through the i8042 (byte 0xfe to port 0x64), which Panavisor turns into the end of the VM; a panic
        // reboots at once (panic=-1) so a crashed guest never hangs the VMM.
        words.add("reboot=k");
        words.add("panic=-1");
        // Each byte on the 8250 is a VM exit: keep the kernel quiet unless the user asks otherwise.
        words.add("quiet");
        if (timeline) {
            // printk.time=1: every message starts with the kernel's clock, "[    1.234567]". loglevel=7 undoes
            // quiet's console loglevel 4, so KERN_INFO messages (level 6) reach the console: the timeline needs
            // "Run /init as init process", which is one. It must come after quiet (both set console_loglevel; the
            // later wins). It costs boot time, which the timeline then includes: every informational message of
            // the boot is printed, and on the 8250 each of their bytes is a VM exit. KERN_DEBUG stays hidden
            // (ignore_loglevel would print it too, for no gain here).
            words.add("printk.time=1");
            words.add("loglevel=7");
        }
        // Panavisor's i8042 has the reset line and a keyboard that only sends (Ctrl+Alt+Del from the host), and no
        // mouse. dumbkbd: the keyboard driver starts without sending the keyboard commands (it answers none);
        // noaux: no mouse port to probe. Without them a kernel with the i8042 driver waits seconds for answers.
        words.add("i8042.dumbkbd");
        words.add("i8042.noaux");
        // One UART (COM1): the 8250 driver would otherwise probe the four legacy ports, each probe a run of port
        // I/O exits answered by nobody (docs/performance.md, "The guest's own pace").
        words.add("8250.nr_uarts=1");
        if (!config.disks().isEmpty() && config.initrd().isEmpty()) {
            words.add("root=/dev/vda");
            words.add(config.disks().getFirst().readOnly() ? "ro" : "rw");
        }
        for (MmioDevice device : devices) {
            words.add(MmioKernelParameter.of(device.base(), device.size(), device.irq()));
        }
        config.exec().ifPresent(command -> words.add("panavisor.exec="
                + Base64.getEncoder().encodeToString(command.getBytes(StandardCharsets.UTF_8))));
        if (config.exec().isPresent() && config.stdio() != MachineConfig.CommandStdio.CONSOLE) {
            words.add(config.stdio() == MachineConfig.CommandStdio.STREAMS ? "panavisor.stdio=ports"
                    : "panavisor.stdio=tty");
        }
        // passt's network has fixed addresses (PasstNetwork): the kernel configures eth0 with them, unless the
        // user's own words say otherwise.
        if (config.net().isPresent() && config.net().get().backend() instanceof MachineConfig.UserNetwork
                && java.util.Arrays.stream(config.extraCmdline().split("\\s+"))
                        .noneMatch(word -> word.startsWith("ip="))) {
            words.add(PasstNetwork.KERNEL_IP_PARAMETER);
        }
        if (!config.extraCmdline().isBlank()) {
            words.add(config.extraCmdline().strip());
        }
        return String.join(" ", words);
    }
}
