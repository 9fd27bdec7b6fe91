package dev.panavisor.cli;

import static dev.panavisor.host.ExitCleanupFixture.awaitProcesses;
import static dev.panavisor.host.ExitCleanupFixture.processesWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.PanavisorException;
import dev.panavisor.host.ExitCleanup;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchBootTest {
    @TempDir
    Path dir;

    @Test
    void the_timed_panavisor_run_shows_the_console_where_the_init_banner_is() {
        CommandLine.ParseResult parsed = PanavisorCommand.newCommandLine().parseArgs("bench", "boot", "--kernel=/k",
                "--initrd=/i");
        BenchBootCommand bench = (BenchBootCommand) parsed.subcommand().subcommand().commandSpec().userObject();
        List<String> run = bench.panavisorRun();
        // Without --show-console, --exec keeps the console (and the banner the benchmark reads) off the output.
        assertTrue(run.containsAll(List.of("run", "--kernel=/k", "--initrd=/i", "--exec=true", "--boot-time",
                "--show-console")), run.toString());
        List<String> watched = bench.panavisorWatched();
        assertTrue(watched.containsAll(List.of("--exec=sleep 1", "--timeline", "--show-console")), watched.toString());
    }

    @Test
    void a_warm_start_splits_at_the_uptime_the_banner_reports() {
        assertEquals(1330.0, WarmStartBench.bannerUptimeMs("panavisor-init: booted in 1.33 s"), 1e-9);
        assertEquals(7000.0, WarmStartBench.bannerUptimeMs("[ 7.1] x panavisor-init: booted in 7 s"), 1e-9);
        assertTrue(Double.isNaN(WarmStartBench.bannerUptimeMs("panavisor-init: booted in soon")));
        WarmStartBench.Start start = new WarmStartBench.Start(2500, 1330);
        assertEquals(1170.0, start.beforeGuestMs(), 1e-9, "the VMM's share and the kernel's decompression");
    }

    @Test
    void a_watched_run_adds_its_overhead_and_its_anonymous_part_in_mib() {
        BenchBootCommand.Samples samples = new BenchBootCommand.Samples();
        samples.add(new WatchedBoot(100, 900, 0.8, 1000,
                new dev.panavisor.measure.Smaps.Overhead(300L << 20, 256L << 20, 290L << 20, 256L << 20, 25L << 20),
                "panavisor: timeline   812 ms  JVM up (main entered)\n"));
        assertEquals(List.of(44.0), samples.overhead);
        assertEquals(List.of(25.0), samples.anonymous);
        assertEquals(List.of(0.8), samples.guestInit);
        assertEquals(List.of(812.0), samples.timeline.get("JVM up (main entered)"));
    }

    @Test
    void the_report_gives_medians_and_the_fastest_round_of_each_vmm() {
        // Two of three Panavisor rounds and one of three QEMU rounds stalled (the lab's ~0.8 s): the medians
        // differ by the stalls, the fastest rounds by the VMMs.
        BenchBootCommand.Samples panavisor = new BenchBootCommand.Samples();
        BenchBootCommand.Samples qemu = new BenchBootCommand.Samples();
        panavisor.boot.addAll(List.of(5000.0, 4200.0, 5100.0));
        qemu.boot.addAll(List.of(2100.0, 2900.0, 2000.0));
        panavisor.total.addAll(List.of(6000.0, 5200.0, 6100.0));
        qemu.total.addAll(List.of(2800.0, 3600.0, 2700.0));
        for (String banner : List.of("booted in 1.70 s", "booted in 0.85 s", "booted in 1.72 s")) {
            panavisor.addUptime("panavisor-init: " + banner);
        }
        for (String banner : List.of("booted in 0.90 s", "booted in 1.70 s", "booted in 0.88 s")) {
            qemu.addUptime("panavisor-init: " + banner);
        }
        for (BenchBootCommand.Samples vmm : List.of(panavisor, qemu)) { // the watched runs' phases and memory
            for (List<Double> phase : List.of(vmm.firstLine, vmm.runsInit, vmm.booted, vmm.guestInit, vmm.overhead)) {
                phase.addAll(List.of(1.0, 2.0, 3.0));
            }
        }
        panavisor.anonymous.addAll(List.of(30.0, 28.5, 29.0));
        qemu.anonymous.addAll(List.of(12.0, 14.0, 12.5));
        java.io.StringWriter text = new java.io.StringWriter();
        BenchBootCommand.report(new java.io.PrintWriter(text), panavisor, qemu);
        String report = text.toString();
        assertTrue(report.contains("median boot (VMM start to /init): panavisor 5000 ms, qemu 2100 ms, ratio 2.38"),
                report);
        assertTrue(report.contains("panavisor 1700 ms, qemu 900 ms, ratio 1.89"), report);
        assertTrue(report.contains("median VMM overhead in anonymous pages: panavisor 29.0 MiB, qemu 12.5 MiB"),
                report);
        assertTrue(report.contains("fastest of 3 rounds: boot panavisor 4200 ms, qemu 2000 ms, ratio 2.10; guest "
                + "time to the banner (quiet boots) panavisor 850 ms, qemu 880 ms, ratio 0.97"), report);
    }

    /**
     * SIGTERM to a JVM in the middle of a timed VMM run ({@code bench boot}'s and {@code bench io}'s), with a work
     * directory as bench io's disk image has: the run and what it started end, the output file and the directory
     * are deleted, before the JVM ends.
     */
    @Test
    @Timeout(120)
    void a_termination_signal_part_way_leaves_no_process_and_no_file() throws Exception {
        String marker = "600.2" + ProcessHandle.current().pid();
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"), TimedRunProbe.class.getName(),
                marker));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(line);
                if (line.equals("running")) {
                    awaitProcesses(marker, 2);
                    try (Stream<Path> files = Files.list(tmp)) {
                        assertEquals(2, files.count(), "the work directory and the run's output file");
                    }
                    child.toHandle().destroy(); // SIGTERM (Process.destroy would close its output too)
                }
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not end");
        assertEquals(143, child.exitValue(), "SIGTERM's status: " + lines);
        assertEquals(List.of(), processesWith(marker), "the VMM and what it started are gone: " + lines);
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(), files.toList(), "nothing left in the temporary directory: " + lines);
        }
    }

    /** A benchmark part-way: a work directory as bench io's, and a timed run (a shell and its child, sleeping). */
    public static final class TimedRunProbe {
        public static void main(String[] args) throws Exception {
            String marker = args[0];
            try (ExitCleanup cleanup = ExitCleanup.install()) {
                Path work = cleanup.temporaryDirectory("panavisor-bench-io-disk-");
                Files.writeString(work.resolve("disk.img"), "data");
                System.out.println("running");
                BenchBootCommand.time(List.of("sh", "-c", "sleep " + marker + " & sleep " + marker), 0,
                        Duration.ofMinutes(10));
            }
        }
    }

    /**
     * A run the JVM's exit stopped (its cleanup refuses the next VMM) ends bench boot and bench io with one line,
     * not an internal error.
     */
    @Test
    void a_benchmark_stopped_by_the_jvms_exit_is_one_line() {
        CommandFailedException stopped = BenchBootCommand.stopped(new InterruptedException(ExitCleanup.EXITING));
        assertTrue(Thread.interrupted(), "the interrupt is kept"); // and cleared, for the next test on this thread
        assertEquals("stopped: this process is exiting (Ctrl-C or SIGTERM)", stopped.getMessage());
        assertEquals("stopped: interrupted", BenchBootCommand.stopped(new InterruptedException()).getMessage());
        Thread.interrupted();
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        StringWriter err = new StringWriter();
        commandLine.setErr(new PrintWriter(err));
        int status = new ExitCodes.ExceptionHandler().handleExecutionException(stopped, commandLine, null);
        assertEquals(ExitCodes.ERROR, status);
        assertEquals("panavisor: stopped: this process is exiting (Ctrl-C or SIGTERM)", err.toString().strip());
        assertTrue(stopped instanceof PanavisorException);
    }
}
