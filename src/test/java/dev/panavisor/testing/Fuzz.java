package dev.panavisor.testing;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A small seeded fuzz harness for hostile-input tests: a property is a function of a {@link Random}; each case
 * gets its own seed, so any failure is replayed from one number.
 *
 * <p>A run first replays the regression corpus, {@code src/test/resources/fuzz/NAME.seeds} (one seed per line, hex
 * with 0x or decimal, {@code #} starts a comment), then runs fresh cases until it has run {@code cases} of them or
 * its time box is spent, whichever comes first. The normal suite is deterministic: case seeds derive from the
 * property's name. Configuration, as system properties (Maven passes {@code -D} values on to the tests):
 * <ul>
 *   <li>{@code panavisor.fuzz.scale} multiplies every property's case count (default 1);</li>
 *   <li>{@code panavisor.fuzz.seconds} is the time box of one property (default 3 s);</li>
 *   <li>{@code panavisor.fuzz.seed} is the base seed: a number, or {@code random} for a fresh one per run.</li>
 * </ul>
 * A long session: {@code mvn test -Dgroups=fuzz -Dpanavisor.fuzz.scale=1000 -Dpanavisor.fuzz.seconds=600
 * -Dpanavisor.fuzz.seed=random}. A failure names its seed; adding that line to the corpus keeps it as a regression.
 *
 * <p>"No loop runs forever" is checked by the properties themselves (bounded steps, a budget of guest memory
 * accesses); the harness adds a preemptive timeout of the time box plus a minute as a last guard, never as a
 * speed check.
 */
public final class Fuzz {
    /** One fuzz case; throws (an {@link AssertionError} or anything else) when a property does not hold. */
    @FunctionalInterface
    public interface Case {
        void run(Random random) throws Exception;
    }

    /** How a run went: the cases run in all, and how many came from the corpus. */
    public record Report(String name, int cases, int corpusCases, long millis) {
    }

    private Fuzz() {
    }

    /** Runs {@code property} on the corpus, then on up to {@code cases} (times the scale) fresh seeds. */
    public static Report run(String name, int cases, Case property) {
        double scale = Double.parseDouble(System.getProperty("panavisor.fuzz.scale", "1"));
        double seconds = Double.parseDouble(System.getProperty("panavisor.fuzz.seconds", "3"));
        String seedText = System.getProperty("panavisor.fuzz.seed", "");
        long base = seedText.isEmpty() ? name.hashCode() * 0x9E37_79B9_7F4A_7C15L
                : seedText.equals("random") ? System.nanoTime() : Long.decode(seedText);
        long limit = Math.max(1, Math.round(cases * scale));
        Duration guard = Duration.ofMillis((long) (seconds * 1000) + 60_000);
        Report report = assertTimeoutPreemptively(guard, () -> {
            long start = System.nanoTime();
            long deadline = start + (long) (seconds * 1e9);
            List<Long> corpus = corpus(name);
            for (long seed : corpus) {
                runOne(name, seed, property, true);
            }
            int run = 0;
            while (run < limit && System.nanoTime() < deadline) {
                runOne(name, mix(base + run), property, false);
                run++;
            }
            return new Report(name, corpus.size() + run, corpus.size(), (System.nanoTime() - start) / 1_000_000);
        }, () -> "fuzz " + name + " ran past its time box by a minute: a loop that does not end?");
        System.out.printf("fuzz %s: %d cases (%d from the corpus) in %d ms, base seed 0x%x%n", name, report.cases(),
                report.corpusCases(), report.millis(), base);
        return report;
    }

    private static void runOne(String name, long seed, Case property, boolean fromCorpus) {
        try {
            property.run(new Random(seed));
        } catch (Throwable e) {
            throw new AssertionError(String.format("fuzz %s failed on seed 0x%x%s: %s", name, seed,
                    fromCorpus ? " (from the corpus)" : "; to keep it as a regression, add 0x" + Long.toHexString(seed)
                            + " to src/test/resources/fuzz/" + name + ".seeds", e), e);
        }
    }

    /** SplitMix64's finaliser: neighbouring indices give unrelated seeds. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    static List<Long> corpus(String name) throws IOException {
        List<Long> seeds = new ArrayList<>();
        try (InputStream in = Fuzz.class.getResourceAsStream("/fuzz/" + name + ".seeds")) {
            if (in == null) {
                return seeds;
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                String text = line.replaceFirst("#.*", "").strip();
                if (!text.isEmpty()) {
                    seeds.add(Long.parseUnsignedLong(text.replaceFirst("^0[xX]", ""), text.matches("0[xX].*") ? 16 : 10));
                }
            }
        }
        return seeds;
    }

    // Shared generators: the values a hostile driver likes.

    /** A number from {@code interesting} most of the time, otherwise any 64-bit value. */
    public static long pick(Random random, long... interesting) {
        return random.nextInt(4) == 0 ? random.nextLong() : interesting[random.nextInt(interesting.length)];
    }

    /** An address: inside memory of {@code size} bytes, at or near its edges, or far outside. */
    public static long address(Random random, long size) {
        return switch (random.nextInt(8)) {
            case 0 -> size;
            case 1 -> size - 1 - random.nextInt(16);
            case 2 -> -1L - random.nextInt(16);
            case 3 -> Long.MAX_VALUE - random.nextInt(16);
            case 4 -> 0xffff_ffffL;
            default -> (long) (random.nextDouble() * size);
        };
    }

    /** A 32-bit length: small, around {@code size}, or huge. */
    public static long length(Random random, long size) {
        return switch (random.nextInt(8)) {
            case 0 -> 0;
            case 1 -> 0xffff_ffffL;
            case 2 -> 0x8000_0000L;
            case 3 -> size;
            case 4 -> random.nextInt(4096);
            default -> 1 + random.nextInt(600);
        } & 0xffff_ffffL;
    }
}
