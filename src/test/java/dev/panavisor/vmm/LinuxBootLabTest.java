package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.image.GuestImages;
import dev.panavisor.image.ImageCache;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import dev.panavisor.testing.ForeignInitramfs;
import dev.panavisor.testing.Requires;
import dev.panavisor.testing.VsockInitramfs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Boots the default guest kernel with Panavisor, for real, inside the nested lab (natively this would be a host
 * with VT-x/AMD-V). One lab session runs every scenario of {@code linux-boot-scenarios.sh} — each a separate
 * {@code panavisor run} — and leaves NAME.out / NAME.err / NAME.rc files; each test below checks one scenario.
 * A lab session costs tens of seconds, so they are batched; the assertions stay one concern per test.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LinuxBootLabTest {
    private Path work;
    private GuestImages.GuestImage guest;
    private String labOutput;

    @BeforeAll
    void bootEveryScenarioInOneLab() throws IOException, InterruptedException {
        Requires.lab();
        guest = GuestImages.forUser(line -> System.err.println("images: " + line)).guest();
        work = Path.of("target", "lab-tests", "linux-boot").toAbsolutePath();
        ImageCache.deleteRecursively(work);
        Files.createDirectories(work);
        Path script = work.resolve("scenarios.sh");
        try (var in = LinuxBootLabTest.class.getResourceAsStream("linux-boot-scenarios.sh")) {
            Files.write(script, in.readAllBytes());
        }
        String java = ProcessHandle.current().info().command().orElseThrow();
        LabConfig config = LabConfig.defaults().withTimeout(Duration.ofMinutes(25)).withWritable(work)
                .withVariable("PANAVISOR", java + " --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -cp "
                        + System.getProperty("java.class.path") + " dev.panavisor.cli.Main")
                .withVariable("WORK", work.toString())
                .withVariable("BZIMAGE", guest.kernel().bzImage().toString())
                .withVariable("VMLINUX", guest.kernel().vmlinux().toString())
                .withVariable("INITRD", guest.rootfs().initramfs().toString())
                .withVariable("ROOTFS", guest.rootfs().ext4().toString())
                .withVariable("FOREIGN", ForeignInitramfs.write(work.resolve("foreign.cpio")).toString())
                .withVariable("VSOCK_INITRD", VsockInitramfs.write(guest.rootfs().initramfs(),
                        work.resolve("vsock-initramfs.cpio")).toString())
                .withVariable("PEER", java + " -cp " + System.getProperty("java.class.path") + " "
                        + VsockPeer.class.getName());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = Lab.run(config, List.of("sh", script.toString()), out, out);
        labOutput = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, "the scenario script itself failed:\n" + labOutput);
    }

    private String out(String scenario) throws IOException {
        return Files.readString(work.resolve(scenario + ".out"));
    }

    private String err(String scenario) throws IOException {
        return Files.readString(work.resolve(scenario + ".err"));
    }

    private int rc(String scenario) throws IOException {
        return Integer.parseInt(Files.readString(work.resolve(scenario + ".rc")).strip());
    }

    private String describe(String scenario) throws IOException {
        return scenario + ": rc=" + rc(scenario) + "\n--- out:\n" + out(scenario) + "\n--- err:\n" + err(scenario);
    }

    @Test
    void exec_prints_the_kernel_version_over_the_serial_console() throws IOException {
        assertEquals(0, rc("uname"), describe("uname"));
        assertTrue(out("uname").contains("6.1."), describe("uname"));
        assertFalse(out("uname").contains("panavisor-exit-status"), "the status line is consumed, not shown");
    }

    @Test
    void exec_stdout_and_stderr_are_the_commands_own_bytes_apart() throws IOException {
        assertEquals(0, rc("exact"), describe("exact"));
        assertArrayEquals("a\nb".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(work.resolve("exact.out")),
                "three bytes, no banner, no carriage return: " + describe("exact"));
        assertTrue(err("exact").contains("to-stderr"), describe("exact"));
    }

    @Test
    void exec_reads_piped_stdin_to_its_end() throws Exception {
        assertEquals(0, rc("wc"), describe("wc"));
        assertEquals("4", out("wc").strip(), describe("wc"));
        assertEquals(0, rc("stdin1m"), err("stdin1m")); // stdout is binary: not shown
        assertEquals(sha256(work.resolve("random.bin")), sha256(work.resolve("stdin1m.out")),
                "1 MiB of random bytes through cat: " + err("stdin1m"));
    }

    @Test
    void a_foreign_init_boots_without_exec_and_its_console_streams_to_stdout() throws IOException {
        assertEquals(0, rc("foreign"), describe("foreign"));
        assertTrue(out("foreign").contains(ForeignInitramfs.GREETING + " from 6.1."), describe("foreign"));
    }

    static String sha256(Path file) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(file)));
    }

    @Test
    void exec_passes_the_commands_exit_status_through() throws IOException {
        assertEquals(3, rc("exit3"), describe("exit3"));
    }

    @Test
    void the_virtio_console_carries_the_guest_console() throws IOException {
        assertEquals(0, rc("virtio"), describe("virtio"));
        assertTrue(out("virtio").contains("hvc0"), describe("virtio"));
        assertTrue(out("virtio").contains("via-hvc0"), describe("virtio"));
    }

    @Test
    void interactive_round_trips_on_both_consoles() throws IOException {
        for (String scenario : List.of("interactive-serial", "interactive-virtio")) {
            assertEquals(0, rc(scenario), describe(scenario));
            assertTrue(out(scenario).contains("panavisor-init: booted in"), describe(scenario));
            assertTrue(out(scenario).contains("round-trip-42"), "the guest shell ran the typed command: "
                    + describe(scenario));
        }
    }

    @Test
    void an_uncompressed_vmlinux_boots_too() throws IOException {
        assertEquals(0, rc("vmlinux"), describe("vmlinux"));
        assertTrue(out("vmlinux").contains("vmlinux-booted"), describe("vmlinux"));
    }

    @Test
    void smp_guests_bring_up_every_vcpu() throws IOException {
        assertEquals(0, rc("smp"), describe("smp"));
        assertTrue(out("smp").strip().endsWith("2"), describe("smp"));
    }

    @Test
    void a_file_written_on_the_virtio_disk_survives_a_reboot_and_is_on_the_host() throws Exception {
        assertEquals(0, rc("write"), describe("write"));
        assertEquals(0, rc("read"), describe("read"));
        assertTrue(out("read").contains("persisted-42"), describe("read"));
        // The host reads the guest's file straight out of the ext4 image.
        Process debugfs = new ProcessBuilder("debugfs", "-R", "cat /root/note", work.resolve("disk.img").toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String onHost = new String(debugfs.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, debugfs.waitFor());
        assertEquals("persisted-42\n", onHost);
    }

    @Test
    void a_read_only_disk_refuses_writes_and_stays_byte_identical() throws IOException {
        assertEquals(0, rc("ro"), describe("ro"));
        assertTrue(out("ro").contains("write-status=1"), describe("ro"));
        assertTrue(err("ro").contains("Read-only file system"), "the command's stderr: " + describe("ro"));
        assertEquals(Files.readString(work.resolve("before.sha")), Files.readString(work.resolve("after.sha")));
    }

    @Test
    void the_timeline_reports_every_phase_in_order_with_the_guest_clock() throws IOException {
        assertEquals(0, rc("timeline"), describe("timeline"));
        String err = err("timeline");
        double previous = -1;
        for (BootTimeline.Phase phase : BootTimeline.Phase.values()) {
            Matcher line = Pattern.compile("panavisor: timeline +([0-9.]+) ms  " + Pattern.quote(phase.label()))
                    .matcher(err);
            assertTrue(line.find(), phase + " missing: " + describe("timeline"));
            double ms = Double.parseDouble(line.group(1));
            assertTrue(ms >= previous, phase + " before the phase above it: " + describe("timeline"));
            previous = ms;
        }
        assertTrue(err.matches("(?s).*guest kernel runs init \\(guest clock [0-9]+\\.[0-9]{3} s\\).*"), err);
    }

    @Test
    void the_console_keeps_ticking_while_two_vcpus_hammer_the_disk() throws IOException {
        assertEquals(0, rc("hammer"), describe("hammer"));
        String out = out("hammer");
        assertTrue(out.contains("hammer-done"), describe("hammer"));
        Matcher tick = Pattern.compile("(?m)^([0-9]+\\.[0-9]+) tick-([0-4])").matcher(out);
        List<Double> arrivals = new java.util.ArrayList<>();
        while (tick.find()) {
            assertEquals(arrivals.size(), Integer.parseInt(tick.group(2)), describe("hammer"));
            arrivals.add(Double.parseDouble(tick.group(1)));
        }
        assertEquals(5, arrivals.size(), "every tick arrived: " + describe("hammer"));
        double worst = 0;
        for (int i = 1; i < arrivals.size(); i++) {
            worst = Math.max(worst, arrivals.get(i) - arrivals.get(i - 1));
        }
        // Measured, not asserted: a tick is due every second; the report shows how late the worst one was.
        System.out.printf("hammer: worst gap between console ticks %.2f s (due every 1 s)%n", worst);
    }

    @Test
    void sigterm_kicks_both_spinning_vcpus_out_and_stops_the_vm_cleanly() throws IOException {
        assertEquals(143, rc("sigterm"), describe("sigterm"));
        String err = err("sigterm");
        assertTrue(err.contains("panavisor: stopping the VM (termination signal)"), describe("sigterm"));
        assertFalse(err.contains("Exception"), describe("sigterm"));
        Matcher ended = Pattern.compile("panavisor: timeline +([0-9.]+) ms  VM ended").matcher(err);
        Matcher stopped = Pattern.compile("panavisor: timeline +([0-9.]+) ms  "
                + Pattern.quote(BootTimeline.Phase.VCPUS_STOPPED.label())).matcher(err);
        assertTrue(ended.find() && stopped.find(), "both vCPU threads ended: " + describe("sigterm"));
        // Measured, not asserted (speed belongs to benchmarks): printed for the report.
        System.out.printf("sigterm: both spinning vCPUs stopped %.1f ms after the VM ended%n",
                Double.parseDouble(stopped.group(1)) - Double.parseDouble(ended.group(1)));
    }

    @Test
    void a_guest_that_makes_no_progress_is_ended_with_status_123() throws IOException {
        assertEquals(123, rc("stall"), describe("stall"));
        assertTrue(err("stall").contains("panavisor: the guest made no progress: no VM exit and no console output "
                + "for 10 s; the vCPUs were idle"), describe("stall"));
    }

    @Test
    void a_kernel_panic_ends_the_vm_with_its_own_status_and_the_panic_line() throws IOException {
        assertEquals(121, rc("panic"), describe("panic"));
        assertTrue(err("panic").contains("panavisor: guest kernel panic: Kernel panic - not syncing: VFS"),
                describe("panic"));
    }

    /** The guest's stdout lines {@code <sha256>  <file>} as file -> hash. */
    private java.util.Map<String, String> guestHashes(String scenario) throws IOException {
        java.util.Map<String, String> hashes = new java.util.HashMap<>();
        Matcher line = Pattern.compile("(?m)^([0-9a-f]{64})  (\\S+)$").matcher(out(scenario));
        while (line.find()) {
            hashes.put(line.group(2), line.group(1));
        }
        return hashes;
    }

    private String vsockDescribe(String scenario) throws IOException {
        return describe(scenario) + "\n--- host program:\n" + Files.readString(work.resolve(scenario + ".peer"));
    }

    @Test
    void the_guest_connects_to_a_host_socket_and_16_mib_cross_both_ways_over_vsock() throws Exception {
        assertEquals(0, rc("vsock-g2h"), vsockDescribe("vsock-g2h"));
        assertEquals("0", Files.readString(work.resolve("vsock-g2h.peer-rc")).strip(), vsockDescribe("vsock-g2h"));
        assertTrue(out("vsock-g2h").contains("pipe-status=0"), vsockDescribe("vsock-g2h"));
        java.util.Map<String, String> guestSide = guestHashes("vsock-g2h");
        assertEquals(16 << 20, Files.size(work.resolve("vsock-g2h.recv")), vsockDescribe("vsock-g2h"));
        assertEquals(guestSide.get("/tmp/send"), sha256(work.resolve("vsock-g2h.recv")), "guest -> host");
        assertEquals(sha256(work.resolve("vsock-host.bin")), guestSide.get("/tmp/recv"), "host -> guest");
        System.out.println("vsock-g2h (guest connects): " + Files.readString(work.resolve("vsock-g2h.peer")).strip()
                .replace("\n", "; "));
    }

    @Test
    void a_guest_connection_to_a_host_port_without_a_socket_is_reset_and_the_guest_goes_on() throws IOException {
        assertTrue(err("vsock-g2h").contains("vsock-pipe: connect: Connection reset by peer"), vsockDescribe("vsock-g2h"));
        assertTrue(out("vsock-g2h").contains("refused-status=1"), vsockDescribe("vsock-g2h"));
    }

    @Test
    void a_host_program_connects_to_the_guests_listener_and_16_mib_cross_both_ways() throws Exception {
        assertEquals(0, rc("vsock-h2g"), vsockDescribe("vsock-h2g"));
        assertEquals("0", Files.readString(work.resolve("vsock-h2g.peer-rc")).strip(), vsockDescribe("vsock-h2g"));
        assertTrue(Files.readString(work.resolve("vsock-h2g.peer")).contains("connected: OK "),
                vsockDescribe("vsock-h2g"));
        java.util.Map<String, String> guestSide = guestHashes("vsock-h2g");
        assertEquals(16 << 20, Files.size(work.resolve("vsock-h2g.recv")), vsockDescribe("vsock-h2g"));
        assertEquals(guestSide.get("/tmp/send"), sha256(work.resolve("vsock-h2g.recv")), "guest -> host");
        assertEquals(sha256(work.resolve("vsock-host.bin")), guestSide.get("/tmp/recv"), "host -> guest");
        System.out.println("vsock-h2g (host connects): " + Files.readString(work.resolve("vsock-h2g.peer")).strip()
                .replace("\n", "; "));
    }

    @Test
    void a_vsock_socket_in_a_missing_directory_is_one_clear_line() throws IOException {
        assertEquals(1, rc("vsock-nodir"), describe("vsock-nodir"));
        assertEquals("panavisor: --vsock: the directory of /nonexistent-dir/vm.sock does not exist",
                err("vsock-nodir").strip(), describe("vsock-nodir"));
    }
}
