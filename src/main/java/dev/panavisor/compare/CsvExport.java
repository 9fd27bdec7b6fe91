package dev.panavisor.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The raw data as CSV (RFC 4180): one line per sample, {@code peer,metric,run,value}, so every start time, and one
 * line per single figure (memory, density, I/O), can be re-plotted or re-analysed elsewhere.
 */
public final class CsvExport {
    private CsvExport() {
    }

    public static void write(Results results, Path file) throws IOException {
        Files.write(file, lines(results), StandardCharsets.UTF_8);
    }

    static List<String> lines(Results results) {
        List<String> lines = new ArrayList<>(List.of("peer,metric,run,value"));
        for (Results.PeerResult p : ComparisonTable.ran(results)) {
            samples(lines, p.peer(), "start_to_workload_ms", p.start().toWorkload());
            samples(lines, p.peer(), "end_to_end_ms", p.start().endToEnd());
            samples(lines, p.peer(), "start_to_workload_parallel_ms", p.start().toWorkloadParallel());
            samples(lines, p.peer(), "end_to_end_parallel_ms", p.start().endToEndParallel());
            one(lines, p.peer(), "throughput_per_s", p.start().throughput());
            one(lines, p.peer(), "size_image_bytes", p.size().image());
            one(lines, p.peer(), "size_runtime_bytes", p.size().runtime());
            one(lines, p.peer(), "memory_overhead_bytes", p.memory().overheadBytes());
            one(lines, p.peer(), "pss_bytes", p.memory().pssBytes());
            one(lines, p.peer(), "idle_cpu_percent", p.memory().idleCpuPercent());
            p.memory().jvm().forEach((category, bytes) ->
                    one(lines, p.peer(), "jvm_committed_bytes:" + category, bytes));
            one(lines, p.peer(), "density_instances", p.density().instances());
            one(lines, p.peer(), "cpu_loop_s", p.workload().cpuSeconds());
            one(lines, p.peer(), "seq_write_mib_s", p.workload().writeMiBps());
            one(lines, p.peer(), "seq_read_mib_s", p.workload().readMiBps());
            one(lines, p.peer(), "rand_read_4k_iops", p.workload().randReadIops());
            one(lines, p.peer(), "rand_write_4k_iops", p.workload().randWriteIops());
            one(lines, p.peer(), "net_in_mib_s", p.workload().netInMiBps());
            one(lines, p.peer(), "net_out_mib_s", p.workload().netOutMiBps());
        }
        return lines;
    }

    private static void samples(List<String> lines, String peer, String metric, List<Double> values) {
        for (int i = 0; i < values.size(); i++) {
            lines.add(line(peer, metric, Integer.toString(i + 1), values.get(i)));
        }
    }

    private static void one(List<String> lines, String peer, String metric, double value) {
        lines.add(line(peer, metric, "", value));
    }

    private static String line(String peer, String metric, String run, double value) {
        return String.join(",", quote(peer), quote(metric), run,
                Double.isNaN(value) ? "" : String.format(Locale.ROOT, "%.3f", value));
    }

    /** RFC 4180 §2: a field with a comma, quote or line break is quoted, quotes doubled. */
    static String quote(String field) {
        return field.matches("[^,\"\\r\\n]*") ? field : "\"" + field.replace("\"", "\"\"") + "\"";
    }
}
