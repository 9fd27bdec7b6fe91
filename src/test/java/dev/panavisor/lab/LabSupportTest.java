package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.HostException;
import dev.panavisor.host.StaticElf;
import dev.panavisor.kvm.KvmBacking;
import dev.panavisor.kvm.KvmHost;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lab's small pieces that need no QEMU: durations, the QEMU command line, the direct-or-lab decision. */
class LabSupportTest {
    @Test
    void durations_accept_plain_seconds_and_units() {
        assertEquals(Duration.ofSeconds(90), Durations.parse("90"));
        assertEquals(Duration.ofSeconds(90), Durations.parse("90s"));
        assertEquals(Duration.ofMinutes(15), Durations.parse("15m"));
        assertEquals(Duration.ofHours(2), Durations.parse("2h"));
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("0"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("ten"));
        assertEquals(Duration.ofDays(365), Durations.parse("8760h"));
        // Beyond a year, beyond a Duration's range, beyond a long's digits: one message, never an overflow.
        for (String tooLong : new String[] {"8761h", "9999999999999999h", "99999999999999999999s"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(tooLong));
            assertEquals("'" + tooLong + "' is longer than 365 days", e.getMessage());
        }
        assertEquals("15 min", Durations.format(Duration.ofMinutes(15)));
        assertEquals("90 s", Durations.format(Duration.ofSeconds(90)));
    }

    @Test
    void the_backported_qemu_is_wanted_on_debian_12_only_and_can_be_refused() {
        String bookworm = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n"
                + "VERSION_CODENAME=bookworm\n";
        String trixie = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_CODENAME=trixie\n";
        assertTrue(BackportedQemu.wanted(bookworm, Map.of()));
        assertFalse(BackportedQemu.wanted(trixie, Map.of()), "trixie's own QEMU is already 10");
        assertFalse(BackportedQemu.wanted("ID=ubuntu\nVERSION_CODENAME=noble\n", Map.of()));
        assertFalse(BackportedQemu.wanted(bookworm, Map.of(BackportedQemu.OVERRIDE, "host")));
    }

    @Test
    void firmware_directories_of_an_unpacked_qemu_are_passed_with_dash_l() {
        LabAssets assets = new LabAssets(Path.of("/c/qemu/10/root/usr/bin/qemu-system-x86_64"),
                List.of(Path.of("/c/qemu/10/root/usr/share/qemu"), Path.of("/c/qemu/10/root/usr/share/seabios")),
                Path.of("/bin/busybox"), Path.of("/cache/vmlinux"), "k", Path.of("/cache/modules"), List.of());
        String line = String.join(" ", QemuCommand.build(LabConfig.defaults(), assets, Path.of("/run/i.cpio"),
                Path.of("/run"), List.of()));
        assertTrue(line.startsWith("/c/qemu/10/root/usr/bin/qemu-system-x86_64 "), line);
        assertTrue(line.contains(" -L /c/qemu/10/root/usr/share/qemu -L /c/qemu/10/root/usr/share/seabios "), line);
    }

    @Test
    void qemu_gets_the_root_read_only_and_writable_shares_read_write() {
        LabAssets assets = new LabAssets(Path.of("/usr/bin/qemu-system-x86_64"), List.of(), Path.of("/bin/busybox"),
                Path.of("/cache/vmlinux"), "k", Path.of("/cache/modules"), List.of());
        LabConfig config = LabConfig.defaults().withCpus(2).withMemoryMiB(3072);
        List<Export> exports = List.of(new Export("rw0", Path.of("/a,b"), Export.Kind.WRITABLE),
                new Export("scratch1", Path.of("/root/.m2"), Export.Kind.SCRATCH));
        List<String> args = QemuCommand.build(config, assets, Path.of("/run/i.cpio"), Path.of("/run"), exports);
        String line = String.join(" ", args);
        assertTrue(line.contains("-accel tcg,thread=" + TcgThreads.DEFAULT.qemuValue()
                + " -cpu max,la57=off -smp 2 -m 3072M"), line);
        assertTrue(line.contains("-virtfs local,path=/,mount_tag=hostroot,security_model=none,multidevs=remap,"
                + "readonly=on"), line);
        assertTrue(line.contains("-virtfs local,path=/a,,b,mount_tag=rw0,security_model=none,multidevs=remap -"), line);
        assertTrue(line.contains("mount_tag=scratch1,security_model=none,multidevs=remap,readonly=on"), line);
        assertTrue(line.contains("-chardev socket,id=status,path=/run/status.sock -serial chardev:status"), line);
        assertTrue(line.contains("-device virtio-serial-pci,id=ports -chardev socket,id=stdin,path=/run/stdin.sock "
                + "-device virtserialport,bus=ports.0,chardev=stdin,name=panavisor.stdin"),
                "the command's stdin: " + line);
        assertEquals(4, args.stream().filter("-serial"::equals).count());
        assertTrue(args.contains("-no-reboot"));
        String single = String.join(" ", QemuCommand.build(config.withTcg(TcgThreads.SINGLE), assets,
                Path.of("/run/i.cpio"), Path.of("/run"), exports));
        assertTrue(single.contains("-accel tcg,thread=single -cpu max,la57=off -smp 2"), single);
    }

    @Test
    void linux_guests_run_directly_on_hardware_kvm_and_the_lab_is_not_even_probed() {
        KvmHost amd = new KvmHost(Path.of("/dev/kvm"), true, true, KvmBacking.AMD_SVM);
        LinuxGuests g = LinuxGuests.decide(amd, () -> {
            throw new AssertionError("the lab must not be probed when hardware KVM is here");
        });
        assertEquals(LinuxGuests.Route.DIRECT, g.route());
        assertEquals("directly on /dev/kvm (hardware (AMD-V, kvm_amd))", g.describe());
    }

    @Test
    void without_hardware_kvm_linux_guests_go_to_the_lab_when_it_is_available() {
        KvmHost pvm = new KvmHost(Path.of("/dev/kvm"), true, true, KvmBacking.PVM);
        LinuxGuests lab = LinuxGuests.decide(pvm, () -> new LabAvailability(true, "kernel cached"));
        assertEquals(LinuxGuests.Route.LAB, lab.route());
        assertTrue(lab.describe().contains("nested lab"), lab.describe());
        LinuxGuests none = LinuxGuests.decide(pvm, () -> new LabAvailability(false, "needs qemu-system-x86"));
        assertEquals(LinuxGuests.Route.NONE, none.route());
        assertTrue(none.describe().contains("needs qemu-system-x86"), none.describe());
    }

    @Test
    void an_inaccessible_hardware_kvm_does_not_count_as_direct() {
        KvmHost locked = new KvmHost(Path.of("/dev/kvm"), true, false, KvmBacking.INTEL_VMX);
        assertEquals(LinuxGuests.Route.LAB,
                LinuxGuests.decide(locked, () -> new LabAvailability(true, "ok")).route());
    }

    @Test
    void the_busybox_the_lab_picks_is_the_first_static_one(@TempDir Path dir) throws IOException {
        // A dynamic executable (the JDK's own launcher, which needs ld.so) comes first, a folder and a missing
        // path beside it; then two static ELFs, made by hand: the lab must skip the first three and take the
        // first static one, whose dynamic loader an initramfs would not have.
        Path dynamic = Files.copy(Path.of(System.getProperty("java.home"), "bin", "java"), dir.resolve("dynamic"));
        assertFalse(StaticElf.isStatic(dynamic), "the stand-in for a dynamic busybox must have a PT_INTERP");
        Path folder = Files.createDirectory(dir.resolve("folder"));
        Path missing = dir.resolve("missing");
        Path first = Files.write(dir.resolve("static"), staticElf());
        Path second = Files.write(dir.resolve("static-too"), staticElf());
        assertEquals(Optional.of(first), AssetCache.staticBusybox(List.of(dynamic, folder, missing, first, second)));
        assertEquals(Optional.empty(), AssetCache.staticBusybox(List.of(dynamic, folder, missing)),
                "no static candidate: none picked, so the lab installs busybox-static");
    }

    /** A 64-bit ELF header with one PT_LOAD program header and no PT_INTERP: static by the System V ABI. */
    private static byte[] staticElf() {
        ByteBuffer elf = ByteBuffer.allocate(64 + 56).order(ByteOrder.LITTLE_ENDIAN);
        elf.put(new byte[] {0x7f, 'E', 'L', 'F', 2});
        elf.putLong(0x20, 64).putShort(0x36, (short) 56).putShort(0x38, (short) 1);
        elf.putInt(64, 1); // PT_LOAD
        return elf.array();
    }

    @Test
    void the_lab_installs_nothing_when_panavisor_no_install_is_set_even_as_root() {
        List<String> progress = new ArrayList<>();
        AssetCache cache = new AssetCache(Path.of("/nonexistent/cache"), progress::add,
                new DebianPackages(progress::add, true, true));
        HostException e = assertThrows(HostException.class, () -> cache.install(List.of("qemu-system-x86")));
        assertEquals("the nested lab (QEMU with a busybox init) needs the Debian packages qemu-system-x86; "
                + "PANAVISOR_NO_INSTALL=1 forbids installing them: apt-get install -y qemu-system-x86", e.getMessage());
        assertEquals(List.of(), progress, "nothing announced, nothing run");
    }

    @Test
    void a_kernel_staged_by_an_earlier_version_is_still_found(@TempDir Path cache) throws IOException {
        Path kernels = cache.resolve("kernel");
        Path staged = Files.createDirectories(kernels.resolve("linux-image-6.1.0-57-amd64-unsigned_6.1.192-3.s2"));
        Files.writeString(staged.resolve("complete"), "linux-image-6.1.0-57-amd64-unsigned 6.1.192-3\n");
        Files.createDirectories(kernels.resolve("linux-image-6.1.0-58-amd64-unsigned_6.1.193-1.s2"));
        Files.writeString(kernels.resolve("current"), "1 linux-image-6.1.0-57-amd64-unsigned 6.1.192-3\n");
        assertEquals(List.of(staged), AssetCache.kernelCache(cache).completeEntries(),
                "marked folders only: an unmarked one is half-written");
    }

    @Test
    void config_limits_are_checked() {
        LabConfig c = LabConfig.defaults();
        assertThrows(IllegalArgumentException.class, () -> c.withCpus(0));
        assertThrows(IllegalArgumentException.class, () -> c.withMemoryMiB(100));
        assertTrue(c.cpus() >= 1 && c.cpus() <= 4);
        assertTrue(c.memoryMiB() >= 1024 && c.memoryMiB() <= LabConfig.DEFAULT_MAX_MEMORY_MIB);
    }
}
