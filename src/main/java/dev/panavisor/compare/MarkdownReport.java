package dev.panavisor.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * report.md: the comparison table first, then which peers did not run and why, the start-time percentiles in
 * full, the JVM's share of Panavisor's memory, the charts, and the run's settings. Every figure carries where it
 * was measured.
 */
public final class MarkdownReport {
    private MarkdownReport() {
    }

    public static void write(Results results, List<String> notes, Path file) throws IOException {
        Files.writeString(file, String.join("\n", lines(results, notes)) + "\n", StandardCharsets.UTF_8);
    }

    /** @param notes lines about the run that the measuring side could not know (peers installed or not, ...) */
    public static List<String> lines(Results results, List<String> notes) {
        Results.Settings s = results.settings();
        List<String> out = new ArrayList<>();
        out.add("# Panavisor bench compare: microVMs vs containers");
        out.add("");
        out.add("Measured " + results.where() + ", " + results.started() + "; " + s.runs() + " runs per start "
                + "figure, K = " + s.parallel() + " in parallel" + (s.quick() ? " (--quick)" : "") + ".");
        out.add("");
        out.addAll(table(ComparisonTable.cells(results)));
        out.add("");
        out.add("Memory overhead: VMs, the VMM's RSS minus the guest memory it maps (/proc/PID/smaps); containers "
                + "and host, the PSS of the runtime's processes and the workload. Ratios: CPU loop time (< 1 "
                + "faster than the host), I/O throughput (> 1 faster than the host). Network: " + results.network()
                + ".");
        // What each size row counts, peer by peer: for Panavisor it says whether its instances had an AOT cache.
        List<String> sizes = ComparisonTable.ran(results).stream().map(p -> ComparisonTable.peerOf(p).label + ", "
                + p.size().imageWhat() + " to run `true`, and " + p.size().runtimeWhat()).toList();
        if (!sizes.isEmpty()) {
            out.add("");
            out.add("Sizes: " + String.join("; ", sizes) + ".");
        }
        List<String> missing = results.peers().stream().filter(p -> !p.ran())
                .map(p -> "- " + p.peer() + ": did not run: " + p.why()).toList();
        if (!missing.isEmpty() || !notes.isEmpty()) {
            out.add("");
            out.add("## Peers that did not run, and notes");
            out.add("");
            out.addAll(missing);
            notes.forEach(n -> out.add("- " + n));
        }
        out.add("");
        out.add("## Start time in full (ms)");
        out.add("");
        List<List<String>> start = new ArrayList<>();
        start.add(List.of("", "serial p50", "p90", "p99", "end to end p50", "p99", "parallel p50", "p90", "p99",
                "parallel end to end p50"));
        for (Results.PeerResult p : ComparisonTable.ran(results)) {
            Results.Start t = p.start();
            start.add(List.of(ComparisonTable.peerOf(p).label, f(Stats.median(t.toWorkload())),
                    f(Stats.percentile(t.toWorkload(), 90)), f(Stats.percentile(t.toWorkload(), 99)),
                    f(Stats.median(t.endToEnd())), f(Stats.percentile(t.endToEnd(), 99)),
                    f(Stats.median(t.toWorkloadParallel())), f(Stats.percentile(t.toWorkloadParallel(), 90)),
                    f(Stats.percentile(t.toWorkloadParallel(), 99)), f(Stats.median(t.endToEndParallel()))));
        }
        out.addAll(table(start));
        out.add("");
        out.add("## Idle instances, I/O and facts");
        out.add("");
        List<List<String>> idle = new ArrayList<>();
        idle.add(List.of("", "instances", "stopped by", "seconds to start them", "kernel inside", "seccomp",
                "I/O mode", "CPU loop s", "write MiB/s", "read MiB/s"));
        for (Results.PeerResult p : ComparisonTable.ran(results)) {
            Results.Workload w = p.workload();
            idle.add(List.of(ComparisonTable.peerOf(p).label, Integer.toString(p.density().instances()),
                    p.density().stoppedBy(), f(p.density().secondsToStartAll()), w.kernel(),
                    Integer.toString(w.seccomp()), w.ioMode(), f(w.cpuSeconds()), f(w.writeMiBps()),
                    f(w.readMiBps())));
        }
        out.addAll(table(idle));
        results.peers().stream().filter(p -> p.ran() && !p.memory().jvm().isEmpty()).forEach(p -> {
            out.add("");
            out.add("## The JVM's share of Panavisor's memory (NMT, committed MiB)");
            out.add("");
            out.add("| category | MiB |");
            out.add("|---|---|");
            for (Map.Entry<String, Long> e : p.memory().jvm().entrySet()) {
                out.add("| " + e.getKey() + " | " + f(e.getValue() / 1048576.0) + " |");
            }
        });
        out.add("");
        out.add("## Charts");
        out.add("");
        for (String chart : Charts.FILES) {
            out.add("![" + chart + "](charts/" + chart + ")");
        }
        out.add("");
        out.add(String.format(Locale.ROOT, "Settings: %d idle instances at most within %d MiB and %d s; idle CPU "
                + "over %d s; I/O %d MiB per test; CPU loop %d iterations; guests %d MiB, 1 vCPU.",
                s.densityMax(), s.memoryBudget() >> 20, s.timeBudgetMs() / 1000, s.idleSeconds(), s.ioMiB(),
                s.cpuLoops(), s.guestMiB()) + " Network " + s.netMiB() + " MiB each way.");
        return out;
    }

    /** Cells (first row the header) as a Markdown table. */
    public static List<String> table(List<List<String>> cells) {
        List<String> lines = new ArrayList<>();
        lines.add(row(cells.getFirst()));
        lines.add("|" + "---|".repeat(cells.getFirst().size()));
        cells.stream().skip(1).forEach(r -> lines.add(row(r)));
        return lines;
    }

    private static String row(List<String> cells) {
        return "| " + String.join(" | ", cells.stream().map(c -> c.replace("|", "\\|")).toList()) + " |";
    }

    private static String f(double value) {
        return ComparisonTable.format(value);
    }
}
