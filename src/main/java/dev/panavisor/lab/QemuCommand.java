package dev.panavisor.lab;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The QEMU command line of a lab (L0): a TCG-emulated PC whose CPU model ("max") includes AMD SVM, so the L1
 * Linux can load kvm_amd and offer a real, hardware-style /dev/kvm.
 *
 * <p>The CPU is "max" without LA57 ({@value #CPU}): L1 itself runs with 4-level page tables (started at the
 * uncompressed vmlinux's PVH entry, it never switches to 5-level paging), but KVM in L1 offered LA57 to its own
 * guests, so every L2 kernel (the bzImage's decompressor enables it) ran 5-level paging under L1's 4-level nested
 * paging, all emulated by TCG: a combination few machines have and QEMU's SVM emulation rarely meets. The L1
 * crashes of 2026-12-02 all happened inside L2 entries and exits, with the L2 kernel's 5-level direct-map
 * address (0xff11...) in L1's KERNEL_GS_BASE (docs/lab.md, "Stalls"). Without LA57 the lab's CPU is what most
 * hardware is: 4-level paging at every level.
 *
 * <p>Devices: no defaults (no NIC, VGA, floppy, CD), four 16550 serial ports wired to the run's Unix sockets
 * ({@link Channel}), a virtio-serial port named {@value #STDIN_PORT} for the command's stdin (its socket closing
 * is end-of-file inside), and one virtio-9p PCI device per share: the host root read-only, plus the writable and
 * scratch directories. {@code multidevs=remap} keeps inode numbers unique across the host's several file systems
 * under one share. {@code -no-reboot} turns L1's reboot or panic into QEMU exiting.
 */
final class QemuCommand {
    /**
     * The kernel command line: quiet, no reboot loop, and no costs that only make sense on real hardware.
     *
     * <p>{@code tsc=reliable}: under TCG every vCPU's TSC is the host's own TSC (plus one offset), so it is
     * monotonic and the same on all vCPUs; but the kernel's synchronization check, run on vCPUs that TCG emulates at
     * different paces, calls it unsynchronized and falls back to the HPET, whose every read is an MMIO access that
     * QEMU serves under its global lock, and L1's KVM then has no stable TSC for L2's kvm-clock. Measured alone, it
     * changed little (guest boot 11.0-11.6 s against 11.4-11.8 s, the kvm tests under Maven 56 s against 54 s), and
     * it did not cure the stalls it was first suspected of (docs/lab.md, "Stalls"); it stays because the TSC is the
     * clock this L1 really has.
     * {@code nokaslr}: the kernel at the same addresses in every lab, so that a stalled vCPU's RIP (which the lab
     * prints) can be looked up in any lab's /proc/kallsyms.
     */
    static final String KERNEL_ARGS = "console=ttyS0 panic=-1 mitigations=off no_timer_check tsc=reliable "
            + "nokaslr cryptomgr.notests 8250.nr_uarts=4 i8042.noaux i8042.nokbd";

    /** L1's CPU model: QEMU's "max" (with SVM) without 5-level paging (see above). */
    static final String CPU = "max,la57=off";

    /** QEMU's QMP monitor socket in the run directory ({@link QemuMonitor}). */
    static final String MONITOR_SOCKET = "qmp.sock";

    /** The socket of the command's stdin, in the run directory, and the virtio-serial port's name inside L1. */
    static final String STDIN_SOCKET = "stdin.sock";
    static final String STDIN_PORT = "panavisor.stdin";

    /** The four serial ports, in ttyS order. */
    enum Channel {
        CONSOLE, STDOUT, STDERR, STATUS;

        String socketName() {
            return name().toLowerCase(java.util.Locale.ROOT) + ".sock";
        }
    }

    private QemuCommand() {
    }

    static List<String> build(LabConfig config, LabAssets assets, Path initramfs, Path runDir,
            List<Export> exports) {
        List<String> args = new ArrayList<>(List.of(assets.qemu().toString(),
                "-name", "panavisor-lab",
                "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot",
                "-qmp", "unix:" + option(runDir.resolve(MONITOR_SOCKET)) + ",server=on,wait=off",
                "-accel", "tcg,thread=" + config.tcg().qemuValue(), "-cpu", CPU,
                "-smp", Integer.toString(config.cpus()), "-m", config.memoryMiB() + "M",
                "-kernel", assets.kernel().toString(),
                "-initrd", initramfs.toString(),
                "-append", KERNEL_ARGS + (config.showConsole() ? "" : " quiet loglevel=3")));
        for (Path firmware : assets.firmwareDirs()) {
            args.addAll(List.of("-L", firmware.toString()));
        }
        for (Channel channel : Channel.values()) {
            String id = channel.name().toLowerCase(java.util.Locale.ROOT);
            args.addAll(List.of("-chardev", "socket,id=" + id + ",path=" + option(runDir.resolve(channel.socketName())),
                    "-serial", "chardev:" + id));
        }
        args.addAll(List.of("-device", "virtio-serial-pci,id=ports",
                "-chardev", "socket,id=stdin,path=" + option(runDir.resolve(STDIN_SOCKET)),
                "-device", "virtserialport,bus=ports.0,chardev=stdin,name=" + STDIN_PORT));
        args.addAll(List.of("-virtfs", virtfs(Path.of("/"), "hostroot", true)));
        for (Export e : exports) {
            args.addAll(List.of("-virtfs", virtfs(e.path(), e.tag(), e.kind() == Export.Kind.SCRATCH)));
        }
        return args;
    }

    private static String virtfs(Path path, String tag, boolean readOnly) {
        return "local,path=" + option(path) + ",mount_tag=" + tag + ",security_model=none,multidevs=remap"
                + (readOnly ? ",readonly=on" : "");
    }

    /** QEMU option values escape a comma by doubling it. */
    static String option(Path path) {
        return path.toString().replace(",", ",,");
    }
}
