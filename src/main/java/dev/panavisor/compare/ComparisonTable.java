package dev.panavisor.compare;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * The report's first table: the classic "VMs vs containers" comparison, one column per peer that ran, every
 * cell a measured number except the two qualitative rows (isolation, portability), which state measured facts in
 * words. The row list is the single definition the Markdown report, the CSV and the tests all use.
 */
public final class ComparisonTable {
    private static final double MIB = 1024.0 * 1024;

    /** One row: its label, whether its cells are numbers, and how to compute a cell. */
    public record Row(String label, boolean numeric, Function<Cell, String> value) {
    }

    /** What a cell is computed from: the peer's result and the host floor's (for ratios). */
    public record Cell(Peer peer, Results.PeerResult result, Results.PeerResult host, Results.Settings settings) {
    }

    public static final List<Row> ROWS = List.of(
            number("Size on disk to run `true` (MiB)", c -> c.result().size().image() / MIB),
            number("Runtime footprint on disk (MiB)", c -> c.result().size().runtime() / MIB),
            number("Start to workload, p50 (ms)", c -> Stats.median(c.result().start().toWorkload())),
            number("Start to workload, p99 (ms)", c -> Stats.percentile(c.result().start().toWorkload(), 99)),
            number("End to end `true`, p50 (ms)", c -> Stats.median(c.result().start().endToEnd())),
            number("Start to workload, K in parallel, p50 (ms)",
                    c -> Stats.median(c.result().start().toWorkloadParallel())),
            number("Memory overhead per instance (MiB)", c -> c.result().memory().overheadBytes() / MIB),
            number("PSS per instance, guest included (MiB)", c -> c.result().memory().pssBytes() / MIB),
            number("Idle CPU per instance (% of a CPU)", c -> c.result().memory().idleCpuPercent()),
            number("Density: idle instances within budget", c -> c.result().density().instances()),
            number("Start throughput, K at once (instances/s)", c -> c.result().start().throughput()),
            number("CPU loop time vs host (x)", c -> Stats.ratio(c.result().workload().cpuSeconds(),
                    c.host().workload().cpuSeconds())),
            number("Sequential write vs host (x)", c -> Stats.ratio(c.result().workload().writeMiBps(),
                    c.host().workload().writeMiBps())),
            number("Sequential read vs host (x)", c -> Stats.ratio(c.result().workload().readMiBps(),
                    c.host().workload().readMiBps())),
            number("4 KiB random read vs host (x)", c -> Stats.ratio(c.result().workload().randReadIops(),
                    c.host().workload().randReadIops())),
            number("4 KiB random write vs host (x)", c -> Stats.ratio(c.result().workload().randWriteIops(),
                    c.host().workload().randWriteIops())),
            number("Network, host to instance (MiB/s)", c -> c.result().workload().netInMiBps()),
            number("Network, instance to host (MiB/s)", c -> c.result().workload().netOutMiBps()),
            new Row("Isolation (measured facts)", false, ComparisonTable::isolation),
            new Row("Portability (how it ran here)", false, c -> c.result().route()));

    private ComparisonTable() {
    }

    private static Row number(String label, Function<Cell, Number> value) {
        return new Row(label, true, c -> format(value.apply(c).doubleValue()));
    }

    static String format(double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return "n/a";
        }
        double magnitude = Math.abs(value);
        String pattern = magnitude >= 100 ? "%.0f" : magnitude >= 10 ? "%.1f" : "%.2f";
        return String.format(Locale.ROOT, pattern, value);
    }

    private static String isolation(Cell c) {
        Results.Workload w = c.result().workload();
        String hostKernel = c.host().workload().kernel();
        String kernel = w.kernel().isEmpty() ? "kernel ?"
                : w.kernel().equals(hostKernel) ? "shared kernel " + w.kernel() : "own kernel " + w.kernel();
        return switch (c.peer().kind) {
            case HOST -> "none: the host kernel " + w.kernel();
            case VM -> kernel + "; host reached through VM exits" + (c.peer() == Peer.PANAVISOR
                    ? " (" + VmExitKinds.handledByPanavisor() + " exit kinds handled)" : "") + "; VMM process: seccomp "
                    + seccomp(c.result().memory().vmmSeccomp());
            case CONTAINER -> kernel + "; seccomp " + seccomp(w.seccomp());
        };
    }

    /** A seccomp mode from /proc/PID/status (proc(5)) in a few words. */
    private static String seccomp(int mode) {
        return switch (mode) {
            case 0 -> "off (all host syscalls)";
            case 1 -> "strict";
            case 2 -> "filter";
            default -> "unknown";
        };
    }

    /** The peers that ran, host first, in {@link Peer} order. */
    public static List<Results.PeerResult> ran(Results results) {
        return results.peers().stream().filter(Results.PeerResult::ran).toList();
    }

    public static Optional<Results.PeerResult> host(Results results) {
        return results.peers().stream().filter(p -> p.ran() && p.peer().equals(Peer.HOST.id)).findFirst();
    }

    /** The table as cells: a header row (empty corner, then each peer's label), then one row per {@link #ROWS}. */
    public static List<List<String>> cells(Results results) {
        List<Results.PeerResult> ran = ran(results);
        Results.PeerResult host = host(results).orElse(null);
        List<List<String>> table = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of(""));
        ran.forEach(p -> header.add(peerOf(p).label));
        table.add(header);
        for (Row row : ROWS) {
            List<String> line = new ArrayList<>(List.of(row.label()));
            for (Results.PeerResult p : ran) {
                line.add(host == null ? "n/a" : row.value().apply(new Cell(peerOf(p), p, host, results.settings())));
            }
            table.add(line);
        }
        return table;
    }

    public static Peer peerOf(Results.PeerResult result) {
        for (Peer peer : Peer.values()) {
            if (peer.id.equals(result.peer())) {
                return peer;
            }
        }
        throw new IllegalArgumentException("unknown peer in results: " + result.peer());
    }
}
