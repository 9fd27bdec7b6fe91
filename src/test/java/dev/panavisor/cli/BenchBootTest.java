package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchBootTest {
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
}
