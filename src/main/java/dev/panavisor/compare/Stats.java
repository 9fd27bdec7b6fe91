package dev.panavisor.compare;

import java.util.Arrays;
import java.util.List;

/**
 * The statistics of the comparison: percentiles of a sample and ratios against a baseline.
 *
 * <p>Percentiles interpolate linearly between the two nearest ranks (Hyndman and Fan's definition 7, the default
 * of R and NumPy): p50 of {1, 2, 3, 4} is 2.5 and p99 of a small sample lies between its two largest values rather
 * than jumping to the maximum. With the few runs of {@code --quick}, p90 and p99 are close to the maximum; the
 * report says how many runs each figure rests on.
 */
public final class Stats {
    private Stats() {
    }

    /** The {@code p}-th percentile (0 to 100) of {@code values}; NaN for an empty sample. */
    public static double percentile(List<Double> values, double p) {
        if (p < 0 || p > 100 || Double.isNaN(p)) {
            throw new IllegalArgumentException("percentile must be from 0 to 100, not " + p);
        }
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        double rank = p / 100 * (sorted.length - 1);
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, sorted.length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }

    public static double median(List<Double> values) {
        return percentile(values, 50);
    }

    public static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    /**
     * {@code value / baseline}, NaN when either is missing or the baseline is zero (a ratio against nothing is no
     * figure, and the report prints NaN as "n/a" rather than infinity).
     */
    public static double ratio(double value, double baseline) {
        if (Double.isNaN(value) || Double.isNaN(baseline) || baseline == 0) {
            return Double.NaN;
        }
        return value / baseline;
    }

    /**
     * The empirical cumulative distribution of a sample, for the start-time charts: the sorted values with the
     * fraction of the sample at or below each (the NSDI'20 Firecracker paper plots start times this way).
     */
    public static double[][] cdf(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[][] points = new double[sorted.length][];
        for (int i = 0; i < sorted.length; i++) {
            points[i] = new double[] {sorted[i], (i + 1) / (double) sorted.length};
        }
        return points;
    }
}
