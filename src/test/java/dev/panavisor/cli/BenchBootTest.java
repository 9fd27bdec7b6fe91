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
}
