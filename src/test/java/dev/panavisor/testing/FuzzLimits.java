package dev.panavisor.testing;

/** How long a Jazzer {@code @FuzzTest} fuzzes when fuzzing is on (JAZZER_FUZZ=1; docs/security.md). */
public final class FuzzLimits {
    /** Per fuzz test in the normal suite's fuzzing run: six targets, well under a minute in all. */
    public static final String IN_SUITE = "4s";

    private FuzzLimits() {
    }
}
