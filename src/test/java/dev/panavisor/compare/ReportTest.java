package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
    @TempDir
    Path dir;

    @Test
    void the_first_table_has_a_column_per_peer_that_ran_and_numbers_in_its_numeric_rows() {
        List<List<String>> cells = ComparisonTable.cells(SampleResults.create());
        assertEquals(List.of("", "host fork/exec", "Panavisor microVM", "runc"), cells.getFirst());
        assertEquals(ComparisonTable.ROWS.size() + 1, cells.size());
        for (int r = 0; r < ComparisonTable.ROWS.size(); r++) {
            List<String> row = cells.get(r + 1);
            for (String cell : row.subList(1, row.size())) {
                if (ComparisonTable.ROWS.get(r).numeric()) {
                    Double.parseDouble(cell); // throws if not a number
                } else {
                    assertTrue(!cell.isBlank(), row.getFirst());
                }
            }
        }
        assertEquals(List.of("Start to workload, p50 (ms)", "5.50", "22000", "330"), cells.get(3));
        assertEquals(List.of("CPU loop time vs host (x)", "1.00", "1.20", "1.10"), cells.get(12));
        assertEquals(List.of("4 KiB random read vs host (x)", "1.00", "0.25", "0.95"), cells.get(15));
        assertEquals(List.of("4 KiB random write vs host (x)", "1.00", "0.10", "0.95"), cells.get(16));
        assertEquals(List.of("Network, host to instance (MiB/s)", "900", "40.0", "700"), cells.get(17));
        assertEquals(List.of("Network, instance to host (MiB/s)", "800", "30.0", "600"), cells.get(18));
    }

    @Test
    void isolation_tells_an_own_kernel_from_a_shared_one() {
        List<String> isolation = ComparisonTable.cells(SampleResults.create()).get(19);
        assertTrue(isolation.get(2).startsWith("own kernel 6.1.119"), isolation.get(2));
        assertTrue(isolation.get(2).contains("exit kinds handled"), isolation.get(2));
        assertTrue(isolation.get(2).endsWith("; VMM process: seccomp filter"), isolation.get(2));
        assertTrue(isolation.get(3).startsWith("shared kernel 6.1.0-test; seccomp off"), isolation.get(3));
    }

    @Test
    void the_report_starts_with_the_table_and_names_the_peers_that_did_not_run() {
        List<String> lines = MarkdownReport.lines(SampleResults.create(), List.of("package crun was not installed"));
        assertTrue(lines.get(2).contains("inside the nested lab (test)"), lines.get(2));
        assertTrue(lines.get(4).startsWith("|  | host fork/exec | Panavisor microVM | runc |"), lines.get(4));
        assertTrue(lines.contains("- podman: did not run: podman is not installed (Debian package podman)"));
        assertTrue(lines.contains("- package crun was not installed"));
        assertTrue(lines.contains("| Java Heap | 40.0 |"));
        assertTrue(lines.contains("![start-cdf.png](charts/start-cdf.png)"));
        assertTrue(lines.stream().anyMatch(l -> l.contains("Network: HTTP over each instance's link (test).")));
        assertTrue(lines.contains("Sizes: host fork/exec, image to run `true`, and runtime; Panavisor microVM, image to"
                + " run `true`, and runtime; runc, image to run `true`, and runtime."), String.join("\n", lines));
    }

    @Test
    void the_charts_are_png_images() throws IOException {
        List<Path> charts = Charts.write(SampleResults.create(), dir);
        assertEquals(Charts.FILES.size(), charts.size());
        for (Path chart : charts) {
            byte[] head = Arrays.copyOf(Files.readAllBytes(chart), 8);
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head, chart.toString());
            assertEquals(800, ImageIO.read(chart.toFile()).getWidth());
        }
    }

    @Test
    void json_round_trips_and_keeps_not_measured_as_nan() throws IOException {
        Results results = SampleResults.create();
        Path json = dir.resolve("results.json");
        ResultsJson.write(results, json);
        Results back = ResultsJson.read(json);
        assertEquals(results, back);
        Results.PeerResult withNan = new Results.PeerResult("host", true, "", "r", results.peers().getFirst().size(),
                results.peers().getFirst().start(), results.peers().getFirst().memory(),
                results.peers().getFirst().density(),
                new Results.Workload("k", 0, "", Double.NaN, 1, 1, 1, 1, Double.NaN, 1));
        ResultsJson.write(new Results("w", "k", "t", results.settings(), "n", List.of(withNan)), json);
        assertTrue(Double.isNaN(ResultsJson.read(json).peers().getFirst().workload().cpuSeconds()));
        assertTrue(Double.isNaN(ResultsJson.read(json).peers().getFirst().workload().netInMiBps()));
    }

    @Test
    void csv_has_one_line_per_sample_and_quotes_what_needs_it() {
        List<String> lines = CsvExport.lines(SampleResults.create());
        assertEquals("peer,metric,run,value", lines.getFirst());
        assertTrue(lines.contains("panavisor,start_to_workload_ms,2,22000.000"));
        assertTrue(lines.contains("panavisor,jvm_committed_bytes:Java Heap,,41943040.000"));
        assertTrue(lines.contains("runc,rand_read_4k_iops,,7600.000"), lines.toString());
        assertTrue(lines.contains("panavisor,net_out_mib_s,,30.000"), lines.toString());
        assertEquals("\"a,b\"", CsvExport.quote("a,b"));
        assertEquals("\"say \"\"hi\"\"\"", CsvExport.quote("say \"hi\""));
    }
}
