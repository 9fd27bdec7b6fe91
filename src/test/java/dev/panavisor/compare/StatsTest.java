package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatsTest {
    @Test
    void percentiles_interpolate_between_the_nearest_ranks() {
        List<Double> sample = List.of(4.0, 1.0, 3.0, 2.0);
        assertEquals(2.5, Stats.median(sample));
        assertEquals(1.0, Stats.percentile(sample, 0));
        assertEquals(4.0, Stats.percentile(sample, 100));
        assertEquals(3.7, Stats.percentile(sample, 90), 1e-9);
        assertEquals(3.97, Stats.percentile(sample, 99), 1e-9);
    }

    @Test
    void a_single_sample_is_every_percentile_and_an_empty_one_is_none() {
        assertEquals(7.0, Stats.percentile(List.of(7.0), 99));
        assertTrue(Double.isNaN(Stats.median(List.of())));
        assertThrows(IllegalArgumentException.class, () -> Stats.percentile(List.of(1.0), 101));
    }

    @Test
    void p99_of_a_hundred_values_sits_just_below_the_maximum() {
        List<Double> sample = java.util.stream.IntStream.rangeClosed(1, 100).mapToObj(i -> (double) i).toList();
        assertEquals(99.01, Stats.percentile(sample, 99), 1e-9);
        assertEquals(50.5, Stats.median(sample), 1e-9);
    }

    @Test
    void ratios_against_a_missing_or_zero_baseline_are_not_numbers() {
        assertEquals(2.0, Stats.ratio(10, 5));
        assertTrue(Double.isNaN(Stats.ratio(1, 0)));
        assertTrue(Double.isNaN(Stats.ratio(Double.NaN, 1)));
        assertTrue(Double.isNaN(Stats.ratio(1, Double.NaN)));
    }

    @Test
    void the_cdf_climbs_to_one_over_the_sorted_sample() {
        double[][] cdf = Stats.cdf(List.of(30.0, 10.0, 20.0, 40.0));
        assertArrayEquals(new double[] {10, 0.25}, cdf[0]);
        assertArrayEquals(new double[] {40, 1.0}, cdf[3]);
        assertEquals(4, cdf.length);
    }

    @Test
    void mean_of_nothing_is_not_a_number() {
        assertEquals(2.0, Stats.mean(List.of(1.0, 3.0)));
        assertTrue(Double.isNaN(Stats.mean(List.of())));
    }
}
