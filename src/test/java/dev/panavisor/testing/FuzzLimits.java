package dev.panavisor.testing;

/** How long a Jazzer {@code @FuzzTest} fuzzes when fuzzing is on (JAZZER_FUZZ=1; docs/security.md). */
public final class FuzzLimits {
    /** Per fuzz test in the normal suite's fuzzing run; starting Jazzer costs more than this (docs/security.md). */
    public static final String IN_SUITE = "2s";

    private FuzzLimits() {
    }
}
