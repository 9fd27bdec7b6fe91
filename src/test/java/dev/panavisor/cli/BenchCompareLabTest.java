package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.compare.Charts;
import dev.panavisor.compare.ComparisonTable;
import dev.panavisor.compare.Results;
import dev.panavisor.compare.ResultsJson;
import dev.panavisor.host.FileTree;
import dev.panavisor.testing.Requires;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code bench compare --quick} for real: every peer in one nested lab session (or directly on hardware KVM),
 * then the report drawn on this side. Checks what the report promises, not the figures themselves: a number in
 * every numeric cell of the first table for each peer that ran, words in the qualitative rows, the charts as PNGs.
 */
@Tag("lab")
class BenchCompareLabTest {
    @Test
    void quick_comparison_fills_every_cell_of_the_first_table_and_draws_the_charts() throws Exception {
        Requires.lab();
        Path out = Path.of("target", "lab-tests", "bench-compare").toAbsolutePath();
        FileTree.delete(out);
        var commandLine = PanavisorCommand.newCommandLine();
        StringWriter stdout = new StringWriter();
        StringWriter stderr = new StringWriter();
        commandLine.setOut(new PrintWriter(stdout, true));
        commandLine.setErr(new PrintWriter(stderr, true));
        int code = commandLine.execute("bench", "compare", "--quick", "--out=" + out);
        String log = stdout + "\n--- stderr:\n" + stderr;
        assertEquals(0, code, log);

        Results results = ResultsJson.read(out.resolve("results.json"));
        List<String> ran = ComparisonTable.ran(results).stream().map(Results.PeerResult::peer).toList();
        List<String> why = results.peers().stream().filter(p -> !p.ran()).map(p -> p.peer() + ": " + p.why())
                .toList();
        // The floor, Panavisor and QEMU (which the lab itself needs) always run; a container runtime may be left
        // out only because it is not installed. A peer that failed is a failure here, not a cell left empty.
        assertTrue(ran.containsAll(List.of("host", "panavisor", "qemu")), "the floor, Panavisor and QEMU ran: "
                + ran + "; the others, and why: " + why + log);
        results.peers().stream().filter(p -> !p.ran()).forEach(p -> assertTrue(
                p.why().contains(" is not installed (Debian package "), p.peer() + " did not run: " + p.why()));
        List<List<String>> cells = ComparisonTable.cells(results);
        for (int r = 0; r < ComparisonTable.ROWS.size(); r++) {
            ComparisonTable.Row row = ComparisonTable.ROWS.get(r);
            List<String> line = cells.get(r + 1);
            for (int c = 1; c < line.size(); c++) {
                String cell = line.get(c);
                String where = row.label() + " / " + cells.getFirst().get(c) + ": '" + cell + "'";
                if (row.numeric()) {
                    assertTrue(cell.matches("-?[0-9]+(\\.[0-9]+)?"), "a number in " + where + "\n" + log);
                } else {
                    assertFalse(cell.isBlank(), where);
                }
            }
        }
        // The isolation row's VMM fact is read from the running VMM: Panavisor confines itself (docs/security.md).
        List<String> isolation = cells.stream().filter(l -> l.getFirst().startsWith("Isolation")).findFirst()
                .orElseThrow();
        String panavisor = isolation.get(cells.getFirst().indexOf(dev.panavisor.compare.Peer.PANAVISOR.label));
        assertTrue(panavisor.endsWith("; VMM process: seccomp filter"), panavisor);
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains(results.where()), "figures say where they ran");
        assertTrue(Files.readAllLines(out.resolve("results.csv")).size() > ran.size() * 8);
        for (String chart : Charts.FILES) {
            Path png = out.resolve("charts").resolve(chart);
            assertTrue(ImageIO.read(png.toFile()).getWidth() > 0, chart);
            assertTrue(report.contains("charts/" + chart), chart);
        }
    }
}
