package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.Requires;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The nested lab, for real: each test boots an L1 Linux under QEMU (several seconds each, more on a busy host).
 * The first run on a fresh machine also installs QEMU and busybox-static and downloads Debian's kernel.
 */
@Tag("lab")
class LabTest {
    private static final Duration LIMIT = Duration.ofMinutes(5);

    @TempDir
    Path work;

    record Run(int exitCode, String out, String err) {
    }

    @BeforeEach
    void needsLab() {
        Requires.lab();
    }

    private LabConfig config() {
        return LabConfig.defaults().withWorkDir(work).withTimeout(LIMIT);
    }

    private static Run run(LabConfig config, String... command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Lab.run(config, List.of(command), out, err);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void true_exits_0() {
        Run r = run(config(), "/bin/true");
        assertEquals(0, r.exitCode(), r.err());
    }

    @Test
    void two_labs_run_at_once_and_each_returns_its_own_exit_status() throws Exception {
        Path other = Files.createDirectory(work.resolve("other"));
        var falseRun = CompletableFuture.supplyAsync(() -> run(config(), "/bin/false"));
        var sevenRun = CompletableFuture.supplyAsync(() -> run(config().withWorkDir(other), "sh", "-c", "exit 7"));
        assertEquals(1, falseRun.get().exitCode(), falseRun.get().err());
        assertEquals(7, sevenRun.get().exitCode(), sevenRun.get().err());
    }

    @Test
    void the_work_directory_is_writable_at_its_host_path_and_the_rest_of_the_host_is_read_only() throws IOException {
        Path probe = Path.of("/etc/panavisor-lab-probe-" + ProcessHandle.current().pid());
        String script = "echo written-inside > result.txt; "
                + "if touch " + probe + " 2>/dev/null; then echo etc-writable; else echo etc-read-only; fi; "
                + "echo private > /tmp/" + probe.getFileName() + " && echo tmp-is-writable; "
                + "pwd; echo to-stderr >&2";
        Run r = run(config(), "sh", "-c", script);
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("written-inside\n", Files.readString(work.resolve("result.txt")));
        assertEquals("etc-read-only\ntmp-is-writable\n" + work + "\n", r.out());
        assertFalse(Files.exists(Path.of("/tmp").resolve(probe.getFileName())), "/tmp inside is private to the lab");
        assertEquals("to-stderr\n", r.err());
        assertFalse(Files.exists(probe));
    }

    @Test
    void inside_the_lab_kvm_is_hardware_and_check_runs_the_tiny_guests() {
        // The project's own JVM and classes (this test's class path, read from the host) run panavisor check.
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // With the lab's JIT options, as every JVM inside L1 (docs/lab.md, "JVM crashes inside L1"): this one, with C2
        // on, once died of the cross-modifying-code fault in a CI run (SIGILL at a C1 method's entry).
        List<String> command = new ArrayList<>(List.of(java,
                "--enable-native-access=ALL-UNNAMED"));
        command.addAll(Lab.JVM_OPTIONS);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.panavisor.cli.Main", "check"));
        Run r = run(config(), command.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("backing:      hardware (AMD-V, kvm_amd)"), r.out());
        assertTrue(r.out().contains("tiny guests:  ok"), r.out());
        assertTrue(r.out().contains("linux guests: directly on /dev/kvm"), r.out());
    }

    @Test
    void a_command_that_outlives_the_time_limit_is_stopped_and_nothing_is_left_behind() throws IOException {
        LabConfig config = config().withTimeout(Duration.ofSeconds(30));
        LabTimeoutException e = assertThrows(LabTimeoutException.class,
                () -> run(config, "sh", "-c", "touch started; exec sleep 600"));
        assertTrue(Files.exists(work.resolve("started")), "the command ran before the limit: " + e.getMessage());
        assertTrue(e.getMessage().contains("while the command ran"), e.getMessage());
        assertEquals(List.of(), processesMentioning(work.toString()), "a QEMU process outlived the lab");
        assertEquals(List.of(), ownRunDirectories());
    }

    /**
     * {@code panavisor lab -- yes | head -1}: once this side's stdout refuses a write, QEMU is stopped and the lab
     * ends with the write's error (the relay used to end quietly while {@code yes} ran on to the time limit).
     */
    @Test
    void a_command_whose_output_has_no_reader_is_stopped() throws IOException {
        OutputStream reader = new OutputStream() {
            private long taken;

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (taken > 4096) {
                    throw new IOException("Broken pipe");
                }
                taken += len;
            }
        };
        long start = System.nanoTime();
        LabOutputLostException e = assertThrows(LabOutputLostException.class,
                () -> Lab.run(config(), List.of("sh", "-c", "touch started; exec yes"), reader,
                        OutputStream.nullOutputStream()));
        assertEquals("Broken pipe", e.lost().getMessage());
        assertTrue(Files.exists(work.resolve("started")), e.getMessage());
        assertTrue(System.nanoTime() - start < LIMIT.toNanos(), "ended by the failed write, not the time limit");
        assertEquals(List.of(), processesMentioning(work.toString()), "a QEMU process outlived the lab");
    }

    @Test
    void an_l1_that_stops_beating_is_ended_as_stalled_with_a_clear_error() {
        // The command freezes L1's heartbeat loop, as a stalled L1 would stop it, then waits far longer than the
        // heartbeat limit. It stops the loop (the sleep's parent), which outlives each sleep: on a busy host the
        // sleep found may be over before the kill.
        String freeze = "until p=$(pgrep -x sleep) && loop=$(awk '{print $4}' /proc/$p/stat 2>/dev/null) "
                + "&& [ -n \"$loop\" ]; do :; done; kill -STOP $loop; touch frozen; exec sleep 600";
        // On the way, the lab sends NMIs (after 5, 10 and 15 s of silence): L1 takes them and goes on, but they
        // cannot resume a process that was stopped on purpose.
        List<String> notes = new java.util.concurrent.CopyOnWriteArrayList<>();
        Lab lab = new Lab(config(), notes::add, Duration.ofSeconds(20));
        LabStalledException e = assertThrows(LabStalledException.class,
                () -> lab.run(List.of("sh", "-c", freeze), new ByteArrayOutputStream(), new ByteArrayOutputStream()));
        assertTrue(Files.exists(work.resolve("frozen")), e.getMessage());
        assertTrue(e.getMessage().matches("L1 made no progress for 20 s \\(no heartbeat while the command ran; "
                + "[1-4] NMIs? did not wake it\\); QEMU was stopped"), e.getMessage());
        assertTrue(notes.stream().anyMatch(n -> n.matches("L1 gave no sign of life for [0-9]+ s; sent it an NMI "
                + "\\(vCPU 0 RIP=[0-9a-f]{16} CR3=[0-9a-f]+ HLT=[01]; vCPU 1 RIP=.*\\)")), notes.toString());
        assertEquals(List.of(), processesMentioning(work.toString()), "a QEMU process outlived the lab");
    }

    @Test
    void a_module_that_does_not_load_is_reported_as_a_setup_failure(@TempDir Path cache) throws IOException {
        LabConfig real = config();
        LabAssets assets = new AssetCache(real.cacheDir(), line -> { }).resolve();
        Path kernel = brokenKernelCopy(assets.kernel().getParent(), cache);
        LabSetupException e = assertThrows(LabSetupException.class,
                () -> run(real.withCacheDir(cache), "/bin/true"));
        assertTrue(e.getMessage().startsWith("lab setup failed in L1: module kvm_amd did not load"), e.getMessage());
        assertTrue(Files.exists(kernel.resolve("complete")));
    }

    /**
     * A copy of the cached kernel directory the lab uses ({@code source}; the cache may hold others, e.g. of another
     * layout version), vmlinux linked, not copied, with its kvm_amd.ko cut short.
     */
    private static Path brokenKernelCopy(Path source, Path to) throws IOException {
        Path target = Files.createDirectories(to.resolve("kernel").resolve(source.getFileName()));
        Files.createSymbolicLink(target.resolve("vmlinux"), source.resolve("vmlinux"));
        Files.createDirectories(target.resolve("modules"));
        try (Stream<Path> modules = Files.list(source.resolve("modules"))) {
            for (Path m : modules.toList()) {
                Files.copy(m, target.resolve("modules").resolve(m.getFileName()));
            }
        }
        Path kvmAmd = target.resolve("modules/kvm_amd.ko");
        Files.write(kvmAmd, java.util.Arrays.copyOf(Files.readAllBytes(kvmAmd), 4096));
        Files.copy(source.resolve("modules.order"), target.resolve("modules.order"));
        Path current = source.resolveSibling("current"); // which package version the cache last resolved
        if (Files.exists(current)) {
            Files.copy(current, to.resolve("kernel/current"));
        }
        Files.copy(source.resolve("complete"), target.resolve("complete"));
        return target;
    }

    /** Command lines of live processes that contain {@code text} (QEMU's name the work directory it shares). */
    static List<String> processesMentioning(String text) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.pid() != ProcessHandle.current().pid())
                .map(p -> p.info().commandLine().orElse(""))
                .filter(line -> line.contains(text))
                .toList();
    }

    /** This JVM's lab run directories still in the temporary folder. */
    static List<Path> ownRunDirectories() throws IOException {
        String prefix = "panavisor-lab-" + ProcessHandle.current().pid() + "-";
        try (Stream<Path> entries = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return entries.filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
        }
    }
}
