package dev.panavisor.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's charts, drawn with JFreeChart as PNG: start-time CDFs (serial and parallel; a logarithmic time axis,
 * since the host floor and a VM boot are orders of magnitude apart), memory per instance, density, and network
 * throughput both ways.
 */
public final class Charts {
    public static final String START_CDF = "start-cdf.png";
    public static final String START_CDF_PARALLEL = "start-cdf-parallel.png";
    public static final String MEMORY = "memory-per-instance.png";
    public static final String DENSITY = "density.png";
    public static final String NETWORK = "network.png";
    public static final List<String> FILES = List.of(START_CDF, START_CDF_PARALLEL, MEMORY, DENSITY, NETWORK);
    private static final int WIDTH = 800;
    private static final int HEIGHT = 480;

    private Charts() {
    }

    /** Draws every chart into {@code dir}; returns the files written. */
    public static List<Path> write(Results results, Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        List<Results.PeerResult> ran = ComparisonTable.ran(results);
        String where = " (" + results.where() + ")";
        List<Path> written = new ArrayList<>();
        written.add(save(cdf("Start to workload, serial" + where, ran, s -> s.toWorkload()), dir.resolve(START_CDF)));
        written.add(save(cdf("Start to workload, " + results.settings().parallel() + " in parallel" + where, ran,
                s -> s.toWorkloadParallel()), dir.resolve(START_CDF_PARALLEL)));
        written.add(save(bars("Memory overhead per idle instance" + where, "MiB", ran,
                List.of(new Series("MiB", p -> p.memory().overheadBytes() / 1048576))), dir.resolve(MEMORY)));
        written.add(save(bars("Idle instances started within budget" + where, "instances", ran,
                List.of(new Series("instances", p -> p.density().instances()))), dir.resolve(DENSITY)));
        written.add(save(bars("Network throughput over each peer's link" + where, "MiB/s", ran, List.of(
                new Series("host to instance", p -> p.workload().netInMiBps()),
                new Series("instance to host", p -> p.workload().netOutMiBps()))), dir.resolve(NETWORK)));
        return written;
    }

    private static JFreeChart cdf(String title, List<Results.PeerResult> ran,
            Function<Results.Start, List<Double>> samples) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Results.PeerResult p : ran) {
            XYSeries series = new XYSeries(ComparisonTable.peerOf(p).label);
            for (double[] point : Stats.cdf(samples.apply(p.start()))) {
                series.add(Math.max(point[0], 0.01), point[1]);
            }
            data.addSeries(series);
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "ms (log scale)", "fraction of runs", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        LogAxis time = new LogAxis("ms (log scale)");
        time.setSmallestValue(0.01);
        plot.setDomainAxis(time);
        return chart;
    }

    /** One bar per peer in a bar chart; a figure not measured (NaN) is drawn as 0. */
    private record Series(String name, ToDoubleFunction<Results.PeerResult> value) {
    }

    /** Bars per peer, one per series side by side, with a legend when there are several. */
    private static JFreeChart bars(String title, String unit, List<Results.PeerResult> ran, List<Series> series) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Results.PeerResult p : ran) {
            for (Series one : series) {
                double v = one.value().applyAsDouble(p);
                data.addValue(Double.isNaN(v) ? 0 : v, one.name(), ComparisonTable.peerOf(p).label);
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(title, "", unit, data, PlotOrientation.VERTICAL,
                series.size() > 1, false, false);
        // Two lines per peer's label: "Panavisor microVM" is wider than its share of the axis when bars are paired.
        chart.getCategoryPlot().getDomainAxis().setMaximumCategoryLabelLines(2);
        return chart;
    }

    private static Path save(JFreeChart chart, Path file) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
        return file;
    }
}
