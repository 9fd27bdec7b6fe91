package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to the commands besides {@code run} (which has {@link RunBadInputTest} and its corpus): each is one line
 * on stderr, no stack trace, status 2 for bad usage (pointing at the command's own help) and 1 for input that
 * cannot be used, and nothing is built, booted or measured first.
 */
class CommandsBadInputTest {
    @TempDir
    Path dir;

    private static void assertOneLine(int code, String expected, String... args) {
        RunBadInputTest.Result result = RunBadInputTest.run(args);
        assertEquals(code, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "exactly one line: " + result.err());
        assertEquals(expected, result.err().strip());
        assertFalse(result.err().contains("Exception"), result.err());
    }

    @Test
    void image_build_with_both_only_flags_has_nothing_to_build() {
        assertOneLine(2, "panavisor: --kernel-only and --rootfs-only leave nothing to build; give neither to build "
                + "both (see 'panavisor image build --help')", "image", "build", "--kernel-only", "--rootfs-only");
    }

    @Test
    void bench_counts_of_zero_are_usage_errors() {
        assertOneLine(2, "panavisor: --count and --rounds must be positive (see 'panavisor bench exits --help')",
                "bench", "exits", "--rounds", "0");
        assertOneLine(2, "panavisor: --rounds must be positive (see 'panavisor bench boot --help')",
                "bench", "boot", "--rounds", "0");
    }

    @Test
    void bench_boot_checks_its_kernel_before_the_lab_starts() throws IOException {
        Path notAKernel = Files.writeString(dir.resolve("bzImage"), "not a kernel\n".repeat(100));
        Path initrd = Files.write(dir.resolve("initrd"), new byte[512]);
        RunBadInputTest.Result result = RunBadInputTest.run("bench", "boot", "--rounds", "1", "--kernel",
                notAKernel.toString(), "--initrd", initrd.toString());
        assertEquals(1, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "exactly one line: " + result.err());
        assertTrue(result.err().contains("not a Linux kernel"), result.err());
    }

    @Test
    void bench_io_checks_its_kernel_before_it_builds_io_load_or_starts_the_lab() throws IOException {
        Path notAKernel = Files.writeString(dir.resolve("hostname"), "a-host-name\n");
        Path initrd = Files.write(dir.resolve("initrd"), new byte[512]);
        RunBadInputTest.Result result = RunBadInputTest.run("bench", "io", "--quick", "--kernel",
                notAKernel.toString(), "--initrd", initrd.toString());
        assertEquals(1, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "exactly one line: " + result.err());
        assertTrue(result.err().contains("not a Linux kernel"), result.err());
    }

    @Test
    void lab_limits_point_at_the_labs_own_help() {
        RunBadInputTest.Result result = RunBadInputTest.run("lab", "--cpus", "0", "--", "true");
        assertEquals(2, result.code(), result.err());
        assertTrue(result.err().strip().endsWith("(see 'panavisor lab --help')"), result.err());
    }

    @Test
    void serve_without_a_socket_path() {
        assertOneLine(2, "panavisor: --api-sock needs a path (see 'panavisor serve --help')", "serve", "--api-sock",
                "");
    }

    @Test
    void a_standby_whose_hand_off_socket_is_missing() {
        Path missing = dir.resolve("no/such/serve.sock");
        RunBadInputTest.Result result = RunBadInputTest.run("standby", "--socket", missing.toString());
        assertEquals(1, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "exactly one line: " + result.err());
        assertTrue(result.err().startsWith("panavisor: cannot reach serve's hand-off socket " + missing + ": "),
                result.err());
    }

    @Test
    void lab_durations_that_overflow_are_one_line() {
        assertOneLine(2, "panavisor: Invalid value for option '--timeout': '9999999999999999h' is longer than 365 "
                + "days (see 'panavisor lab --help')", "lab", "--timeout", "9999999999999999h", "--", "true");
    }
}
