package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.Requires;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The reference boot on hardware-style KVM: QEMU's microvm ({@code -accel kvm}) inside the nested lab boots the
 * default guest from the initramfs and from the ext4 image on a virtio-mmio disk, and command mode returns the
 * command's output and status. Independent of Panavisor's own loader: if these pass and a Panavisor boot fails,
 * the fault is Panavisor's.
 */
@Tag("lab")
class QemuReferenceLabBootTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private static GuestImages.GuestImage guest;

    @BeforeAll
    static void guestImages() {
        Requires.lab();
        guest = GuestImages.forUser(line -> System.err.println("panavisor: " + line)).guest();
    }

    @Test
    void initramfs_boot_runs_the_command_and_reports_its_status() {
        QemuMicrovm.Run run = new QemuMicrovm(guest.kernel().bzImage()).initramfs(guest.rootfs().initramfs())
                .append(GuestInitContract.execParameter("echo \"hello from $(uname -m)\"; exit 7"))
                .runInLab(TIMEOUT);
        assertEquals(0, run.exitStatus(), "QEMU exits by itself on the guest's reset:\n" + run.console());
        assertTrue(GuestInitContract.bootSeconds(run.console()).isPresent(), run.console());
        assertTrue(run.console().contains("hello from x86_64"), run.console());
        assertEquals(OptionalInt.of(7), GuestInitContract.exitStatus(run.console()), run.console());
    }

    @Test
    void ext4_root_on_a_virtio_mmio_disk_boots_to_the_banner() throws Exception {
        Path work = Files.createDirectories(Path.of("target", "lab-tests", "qemu-reference").toAbsolutePath());
        Path disk = Files.copy(guest.rootfs().ext4(), work.resolve("rootfs.ext4"), StandardCopyOption.REPLACE_EXISTING);
        QemuMicrovm.Run run = new QemuMicrovm(guest.kernel().bzImage()).writableRootDisk(disk)
                .append(GuestInitContract.execParameter("test -b /dev/vda && echo root-on-vda"))
                .runInLab(TIMEOUT);
        assertEquals(0, run.exitStatus(), run.console());
        assertTrue(run.console().contains("root-on-vda"), run.console());
        assertEquals(OptionalInt.of(0), GuestInitContract.exitStatus(run.console()), run.console());
    }
}
