package dev.panavisor.cli;

import dev.panavisor.compare.Charts;
import dev.panavisor.compare.SampleResults;
import dev.panavisor.measure.Smaps;
import dev.panavisor.vmm.MemoryReport;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run by {@link LinkedRuntimeTest} on the linked Java runtime: the paths whose modules {@code jdeps} cannot see,
 * because the JDK finds them at run time (service loaders, MBeans, native libraries). Each prints one line; any
 * failure ends the JVM with an exception and a non-zero status.
 *
 * <p>Argument: a scratch directory.
 */
final class LinkedRuntimeProbe {
    private LinkedRuntimeProbe() {
    }

    public static void main(String[] args) throws Exception {
        Path scratch = Path.of(args[0]);
        // java.desktop: Java2D, fonts and ImageIO, through JFreeChart (bench compare's charts).
        int charts = Charts.write(SampleResults.create(), scratch.resolve("charts")).size();
        System.out.println("charts: " + charts);
        // jdk.jfr: run --jfr's recording, written when it ends.
        Path recording = scratch.resolve("probe.jfr");
        try (FlightRecording jfr = FlightRecording.start(recording, new PrintWriter(System.err, true))) {
            System.out.println("recording");
        }
        System.out.println("jfr: " + Files.size(recording) + " bytes");
        // jdk.management: the DiagnosticCommand MBean behind run --stats' NMT line (the JVM runs with NMT on).
        MemoryReport.lines(new Smaps.Overhead(0, 0, 0, 0, 0)).forEach(System.out::println);
    }
}
