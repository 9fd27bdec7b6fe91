package dev.panavisor.cli;

import dev.panavisor.cli.IoWorkload.ExitCounts;
import dev.panavisor.cli.IoWorkload.Metric;
import dev.panavisor.cli.IoWorkload.Result;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The numbers of one {@code panavisor bench io} run: each round's results as they come, then medians, Panavisor's
 * exits per MiB, and last one {@code ratio <metric> panavisor/qemu: <x>} line per metric for scripts (higher is
 * better for Panavisor: every metric is a rate). Pure, so the format is tested without a VM.
 */
final class IoReport {
    private final Map<Metric, List<Double>> panavisor = new EnumMap<>(Metric.class);
    private final Map<Metric, List<Double>> qemu = new EnumMap<>(Metric.class);
    private final Map<Metric, List<Double>> diskExitsPerMiB = new EnumMap<>(Metric.class);
    private final Map<Metric, List<Double>> allExitsPerMiB = new EnumMap<>(Metric.class);
    private final ExitCounts boot;
    private int missing;

    /**
     * @param boot Panavisor's exits for a boot that runs {@code true} with the same disk attached: what every
     *             measured run costs besides its test (device probe, partition scan, console), subtracted from
     *             each; empty when the run reported none
     */
    IoReport(Optional<ExitCounts> boot) {
        this.boot = boot.orElse(null);
        for (Metric metric : Metric.values()) {
            panavisor.put(metric, new ArrayList<>());
            qemu.put(metric, new ArrayList<>());
            diskExitsPerMiB.put(metric, new ArrayList<>());
            allExitsPerMiB.put(metric, new ArrayList<>());
        }
    }

    /** Records one round of one metric and returns the line to print for it. */
    String add(int round, Metric metric, Result panavisorResult, Result qemuResult, Optional<ExitCounts> exits) {
        double p = metric.value(panavisorResult);
        double q = metric.value(qemuResult);
        panavisor.get(metric).add(p);
        qemu.get(metric).add(q);
        String exitNote = "";
        if (boot != null && exits.isPresent()) {
            double mib = panavisorResult.mib();
            allExitsPerMiB.get(metric).add((exits.get().total() - boot.total()) / mib);
            exitNote = String.format(Locale.ROOT, ", %d exits", exits.get().total() - boot.total());
            if (boot.onPage().isPresent() && exits.get().onPage().isPresent()) {
                double onDisk = exits.get().onPage().getAsLong() - boot.onPage().getAsLong();
                diskExitsPerMiB.get(metric).add(onDisk / mib);
                exitNote += String.format(Locale.ROOT, " (%.0f on the disk)", onDisk);
            }
        }
        return String.format(Locale.ROOT, "round %d %-16s panavisor %s, qemu %s%s", round, metric.label,
                format(p, metric), format(q, metric), exitNote);
    }

    /**
     * Records that one round of one metric gave no result (a VM that timed out or printed none: in the nested lab,
     * QEMU's guest now and then, docs/lab.md "Stalls") and returns the line to print: the round is left out of that
     * metric's medians, and the run goes on.
     */
    String missing(int round, Metric metric, String reason) {
        missing++;
        return String.format(Locale.ROOT, "round %d %-16s no result, left out: %s", round, metric.label, reason);
    }

    /** How many measurements (one metric in one round) gave no result. */
    int missing() {
        return missing;
    }

    /**
     * Medians, exits, and the ratio lines, which come last: one per metric that has at least one round, each over
     * the rounds that gave results (a metric's line says how many when some did not).
     */
    List<String> summary() {
        List<String> lines = new ArrayList<>();
        int rounds = panavisor.values().stream().mapToInt(List::size).max().orElse(0);
        lines.add(String.format(Locale.ROOT, "%-16s %16s %16s   (median of %d round%s)", "metric", "panavisor", "qemu",
                rounds, rounds == 1 ? "" : "s"));
        for (Metric metric : Metric.values()) {
            List<Double> p = panavisor.get(metric);
            lines.add(p.isEmpty() ? String.format(Locale.ROOT, "%-16s %16s %16s", metric.label, "-", "-")
                    : String.format(Locale.ROOT, "%-16s %16s %16s%s", metric.label, format(median(p), metric),
                            format(median(qemu.get(metric)), metric),
                            p.size() < rounds ? "   (" + p.size() + " round" + (p.size() == 1 ? ")" : "s)") : ""));
        }
        if (boot == null) {
            lines.add("panavisor exits: not reported (no --exit-stats line in the run's output)");
        } else {
            lines.add(String.format(Locale.ROOT, "panavisor boot with the disk attached (--exec true): %d exits%s",
                    boot.total(), boot.onPage().isPresent()
                            ? ", " + boot.onPage().getAsLong() + " on the disk's registers" : ""));
            lines.add("panavisor exits per MiB transferred (median; that boot's exits subtracted):");
            for (Metric metric : Metric.values()) {
                List<Double> disk = diskExitsPerMiB.get(metric);
                lines.add(String.format(Locale.ROOT, "  %-16s %s on the disk's registers, %s in all", metric.label,
                        disk.isEmpty() ? "-" : "%.1f".formatted(median(disk)),
                        allExitsPerMiB.get(metric).isEmpty() ? "-" : "%.1f".formatted(median(allExitsPerMiB.get(metric)))));
            }
        }
        for (Metric metric : Metric.values()) {
            if (!panavisor.get(metric).isEmpty()) {
                lines.add(ratioLine(metric, median(panavisor.get(metric)) / median(qemu.get(metric))));
            }
        }
        return lines;
    }

    /** The line scripts read: {@code ratio seq-read panavisor/qemu: 0.875}. */
    static String ratioLine(Metric metric, double ratio) {
        return String.format(Locale.ROOT, "ratio %s panavisor/qemu: %.3f", metric.label, ratio);
    }

    static String format(double value, Metric metric) {
        return metric.unit.equals("IOPS") ? String.format(Locale.ROOT, "%.0f IOPS", value)
                : String.format(Locale.ROOT, "%.1f MiB/s", value);
    }

    static double median(List<Double> values) {
        return BenchCommand.Exits.median(values);
    }
}
