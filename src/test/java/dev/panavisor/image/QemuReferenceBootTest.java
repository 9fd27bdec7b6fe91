package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.DebianPackages;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The reference boot: the default guest (built on first use, minutes; then cached) boots under QEMU's microvm
 * machine with plain TCG emulation on the host, to the banner, and runs a command in command mode.
 *
 * <p>Tagged "qemu": needs qemu-system-x86 (installed as root when missing) and the kernel build; it does not
 * need /dev/kvm. Every boot uses {@code quiet}: each console byte is slow under emulation.
 */
@Tag("qemu")
class QemuReferenceBootTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static GuestImages.GuestImage guest;

    @BeforeAll
    static void buildGuestAndInstallQemu() {
        guest = GuestImages.forUser(line -> System.err.println("panavisor: " + line)).guest();
        new DebianPackages(line -> System.err.println("panavisor: " + line))
                .ensureInstalled(java.util.List.of("qemu-system-x86"), "the QEMU reference boot");
    }

    /** The numbers docs/guest-images.md quotes: guest uptime at the banner, and QEMU's whole run. */
    private static void report(String boot, QemuMicrovm.Run run) {
        System.err.printf("reference boot (%s): banner at %s s, QEMU wall time %d ms%n", boot,
                GuestInitContract.bootSeconds(run.console()).orElse(Double.NaN), run.wallTime().toMillis());
    }

    private static QemuMicrovm diskBoot() {
        return new QemuMicrovm(guest.kernel().bzImage()).rootDisk(guest.rootfs().ext4());
    }

    @Test
    void command_mode_on_the_ext4_root_prints_the_output_and_the_exit_status_then_ends_the_vm() throws Exception {
        QemuMicrovm.Run run = diskBoot()
                .append(GuestInitContract.execParameter("echo \"hello from $(uname -m)\"; test -b /dev/vda; exit 7"))
                .run(TIMEOUT);
        report("bzImage, ext4 root", run);
        assertTrue(GuestInitContract.bootSeconds(run.console()).isPresent(), run.console());
        assertTrue(run.console().contains("hello from x86_64"), run.console());
        assertEquals(OptionalInt.of(7), GuestInitContract.exitStatus(run.console()), run.console());
        assertEquals(0, run.exitStatus(), "QEMU exits by itself on the guest's reset (-no-reboot)");
    }

    @Test
    void the_same_init_runs_from_the_initramfs() throws Exception {
        QemuMicrovm.Run run = new QemuMicrovm(guest.kernel().bzImage()).initramfs(guest.rootfs().initramfs())
                .append(GuestInitContract.execParameter("grep -q ' / rootfs ' /proc/mounts && ls /dev/console"))
                .run(TIMEOUT);
        report("bzImage, initramfs", run);
        assertTrue(run.console().contains("/dev/console"), run.console());
        assertEquals(OptionalInt.of(0), GuestInitContract.exitStatus(run.console()), run.console());
    }

    @Test
    void the_uncompressed_vmlinux_boots_through_its_pvh_entry_point() throws Exception {
        QemuMicrovm.Run run = new QemuMicrovm(guest.kernel().vmlinux()).rootDisk(guest.rootfs().ext4())
                .append(GuestInitContract.execParameter("exit 3")).run(TIMEOUT);
        report("vmlinux (PVH), ext4 root", run);
        assertEquals(OptionalInt.of(3), GuestInitContract.exitStatus(run.console()), run.console());
    }

    @Test
    void a_command_that_is_not_base64_is_reported_as_status_125() throws Exception {
        QemuMicrovm.Run run = diskBoot().append(GuestInitContract.EXEC_PARAMETER + "=not-base64!").run(TIMEOUT);
        assertEquals(OptionalInt.of(GuestInitContract.BAD_COMMAND_STATUS),
                GuestInitContract.exitStatus(run.console()), run.console());
    }

    @Test
    void the_boot_marker_is_the_first_act_of_init() throws Exception {
        // QEMU's isa-debug-exit device ends QEMU with status (value << 1) | 1 when the guest writes a value to
        // its port: placed on the boot-marker port, it stops the VM at the marker, before the banner.
        QemuMicrovm.Run run = diskBoot().append(GuestInitContract.execParameter("exit 0"))
                .device("isa-debug-exit,iobase=0x" + Integer.toHexString(GuestInitContract.BOOT_MARKER_PORT)
                        + ",iosize=1")
                .run(TIMEOUT);
        assertEquals((GuestInitContract.BOOT_MARKER_VALUE << 1) | 1, run.exitStatus(), run.console());
        assertFalse(run.console().contains(GuestInitContract.BANNER_PREFIX), run.console());
    }
}
