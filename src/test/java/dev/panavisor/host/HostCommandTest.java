package dev.panavisor.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs real host programs (sh, gzip), which every Linux host Panavisor supports has. */
class HostCommandTest {
    @TempDir
    Path dir;

    @Test
    void merged_output_arrives_line_by_line_in_order_with_the_status() {
        List<String> lines = new ArrayList<>();
        int status = HostCommand.of("sh", "-c", "echo one; echo two >&2; echo three; exit 3").run(lines::add);
        assertEquals(3, status);
        assertEquals(List.of("one", "two", "three"), lines);
    }

    @Test
    void output_returns_the_text_and_a_failure_names_the_command_and_its_last_line() {
        assertEquals("a\nb\n", HostCommand.of("sh", "-c", "echo a; echo b").output());
        HostException e = assertThrows(HostException.class,
                () -> HostCommand.of("sh", "-c", "echo first; echo 'the reason' >&2; exit 2").check());
        assertEquals("'sh -c echo first; echo 'the reason' >&2; exit 2' failed (exit status 2): the reason",
                e.getMessage());
    }

    /** tar's last line says only that it failed; the cause came before it, and the one line names both. */
    @Test
    void a_failure_names_the_cause_that_came_before_the_last_line() {
        HostException e = assertThrows(HostException.class, () -> HostCommand.of("sh", "-c",
                "echo 'tar: linux/a.c: Cannot write: No space left on device' >&2; echo 'tar: linux/b.c: Cannot "
                        + "write: No space left on device' >&2; echo 'tar: Exiting with failure status due to "
                        + "previous errors' >&2; exit 2").check());
        assertTrue(e.getMessage().endsWith("failed (exit status 2): tar: linux/a.c: Cannot write: No space left on "
                + "device ... tar: Exiting with failure status due to previous errors"), e.getMessage());
    }

    /** Output that cannot be kept (the build log on a full disk) stops the program: one line, not an internal error. */
    @Test
    void output_that_cannot_be_kept_stops_the_program_with_one_line() {
        HostException e = assertThrows(HostException.class, () -> HostCommand.of("sh", "-c", "echo one; exec sleep 600")
                .run(line -> {
                    throw new java.io.UncheckedIOException(new IOException("No space left on device"));
                }));
        assertTrue(e.getMessage().endsWith("stopped: its output could not be kept: No space left on device"),
                e.getMessage());
    }

    @Test
    void io_errors_say_what_went_wrong_and_not_only_where() {
        assertEquals("/ro/images: permission denied",
                IoErrors.describe(new java.nio.file.AccessDeniedException("/ro/images")));
        assertEquals("typo/kernel.fragment: does not exist",
                IoErrors.describe(new java.nio.file.NoSuchFileException("typo/kernel.fragment")));
        assertEquals("a -> b: Directory not empty",
                IoErrors.describe(new java.nio.file.FileSystemException("a", "b", "Directory not empty")));
        assertEquals("No space left on device", IoErrors.describe(new IOException("No space left on device")));
    }

    @Test
    void capture_keeps_stdout_and_stderr_apart_and_does_not_throw_on_failure() {
        HostCommand.Result r = HostCommand.of("sh", "-c", "echo out; echo err >&2; exit 1").capture();
        assertFalse(r.ok());
        assertEquals(1, r.exitCode());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
    }

    @Test
    void directory_environment_and_stdin_are_the_commands() {
        HostCommand command = HostCommand.of("sh", "-c", "pwd; echo \"$PANAVISOR_TEST_VALUE\"; cat")
                .in(dir).withEnvironment(Map.of("PANAVISOR_TEST_VALUE", "v1"));
        assertEquals(dir.toAbsolutePath() + "\nv1\n", command.output(), "stdin is /dev/null: cat ends at once");
    }

    @Test
    void a_missing_program_is_one_line_naming_it() {
        HostException e = assertThrows(HostException.class,
                () -> HostCommand.of("panavisor-no-such-program").run(line -> { }));
        assertTrue(e.getMessage().startsWith("cannot run panavisor-no-such-program (is it installed?): "),
                e.getMessage());
        assertThrows(HostException.class, () -> HostCommand.of("panavisor-no-such-program").capture());
    }

    @Test
    void pipe_filters_bytes_and_a_failing_filter_says_why() throws IOException {
        byte[] text = "hello, pipe\n".repeat(10_000).getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(compressed)) {
            gzip.write(text);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HostCommand.of("gzip", "-dc").pipe(compressed.toByteArray(), out);
        assertArrayEquals(text, out.toByteArray());

        HostException e = assertThrows(HostException.class,
                () -> HostCommand.of("gzip", "-dc").pipe("not gzip".getBytes(StandardCharsets.UTF_8),
                        new ByteArrayOutputStream()));
        assertTrue(e.getMessage().startsWith("'gzip -dc' failed (exit status 1): gzip: stdin: not in gzip format"),
                e.getMessage());
    }

    @Test
    void find_searches_path_and_takes_a_path_with_a_slash_as_is() {
        assertEquals(Optional.of(Path.of("/bin/sh")), HostCommand.find("/bin/sh"));
        assertTrue(HostCommand.find("sh").orElseThrow().endsWith("sh"));
        assertEquals(Optional.empty(), HostCommand.find("panavisor-no-such-program"));
        assertEquals(Optional.empty(), HostCommand.find("/etc"), "a directory is not a program");
    }

    @Test
    void last_lines_skip_blank_ones_and_fit_on_one_line() {
        assertEquals("c", HostCommand.lastLine("a\nb\nc\n\n  \n"));
        assertEquals("(no output)", HostCommand.lastLine(""));
        assertEquals("b | c", HostCommand.lastLines("a\n b \n\nc\n", 2));
        assertEquals("a", HostCommand.lastLines("a", 5));
    }
}
