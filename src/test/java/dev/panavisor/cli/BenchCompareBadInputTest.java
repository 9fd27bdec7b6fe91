package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Bad input to {@code bench compare}: one line on stderr, exit status 2, nothing measured. */
class BenchCompareBadInputTest {
    private static void assertUsageError(String fragment, String... args) {
        RunBadInputTest.Result result = RunBadInputTest.run(args);
        assertEquals(2, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "exactly one line: " + result.err());
        assertTrue(result.err().startsWith("panavisor: "), result.err());
        assertTrue(result.err().strip().endsWith("(see 'panavisor bench compare --help')"), result.err());
        assertTrue(result.err().contains(fragment), result.err());
        assertFalse(result.err().contains("Exception"), result.err());
    }

    @Test
    void an_unknown_peer_in_only() {
        assertUsageError("unknown peer 'lxc' in --only", "bench", "compare", "--only=runc,lxc");
    }

    @Test
    void an_empty_only() {
        assertUsageError("--only needs at least one peer", "bench", "compare", "--only=");
    }

    @Test
    void an_unknown_flag() {
        assertUsageError("--fast", "bench", "compare", "--fast");
    }

    @Test
    void runs_and_parallel_must_be_positive() {
        assertUsageError("--runs must be from 1 to 1000", "bench", "compare", "--runs=0");
        assertUsageError("--parallel must be from 1 to 64", "bench", "compare", "--quick", "--parallel=-1");
        assertUsageError("--runs", "bench", "compare", "--runs=many");
    }
}
