package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.boot.SyntheticKernels;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to {@code panavisor run}: each case must end with exit status 1 (or 2 for bad usage) and exactly one line
 * on stderr, with no stack trace, before any VM or lab is started (the checks run on the host first, so these run
 * anywhere).
 */
class RunBadInputTest {
    @TempDir
    Path dir;

    record Result(int code, String err) {
    }

    static Result run(String... args) {
        var commandLine = PanavisorCommand.newCommandLine();
        StringWriter err = new StringWriter();
        commandLine.setErr(new PrintWriter(err));
        commandLine.setOut(new PrintWriter(new StringWriter()));
        int code = commandLine.execute(args);
        return new Result(code, err.toString());
    }

    static void assertOneLineError(Result result, String expectedFragment) {
        assertOneLine(result, 1, expectedFragment);
    }

    /** Bad usage: status 2, and the line ends by pointing at run's help. */
    static void assertUsageError(Result result, String expectedFragment) {
        assertOneLine(result, 2, expectedFragment);
        assertTrue(result.err().strip().endsWith("(see 'panavisor run --help')"), result.err());
    }

    private static void assertOneLine(Result result, int code, String expectedFragment) {
        assertEquals(code, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "exactly one line: " + result.err());
        assertTrue(result.err().startsWith("panavisor: "), result.err());
        assertTrue(result.err().contains(expectedFragment), result.err());
        assertFalse(result.err().contains("Exception"), result.err());
    }

    Path write(String name, ByteBuffer contents) throws IOException {
        byte[] bytes = new byte[contents.remaining()];
        contents.get(bytes);
        return Files.write(dir.resolve(name), bytes);
    }

    Path kernel() throws IOException {
        return write("bzImage", new SyntheticKernels.BzImage().build());
    }

    @Test
    void a_file_that_is_not_a_kernel() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.txt"), "hello, I am not a kernel\n".repeat(100));
        assertOneLineError(run("run", "--kernel", text.toString(), "--exec", "true"),
                "not a Linux kernel (neither a bzImage nor an ELF vmlinux)");
    }

    @Test
    void a_missing_kernel() {
        assertOneLineError(run("run", "--kernel", dir.resolve("nope").toString(), "--exec", "true"), "nope");
    }

    @Test
    void a_truncated_bzimage() throws IOException {
        ByteBuffer whole = new SyntheticKernels.BzImage().build();
        byte[] bytes = Arrays.copyOf(whole.array(), whole.remaining() - 4000);
        Path truncated = Files.write(dir.resolve("truncated"), bytes);
        assertOneLineError(run("run", "--kernel", truncated.toString(), "--exec", "true"), "truncated bzImage");
    }

    @Test
    void a_kernel_that_does_not_fit_in_memory() throws IOException {
        SyntheticKernels.BzImage big = new SyntheticKernels.BzImage();
        big.initSize = 64L << 20; // decompresses into 64 MiB
        Path kernel = write("big", big.build());
        assertOneLineError(run("run", "--kernel", kernel.toString(), "--memory", "32M", "--exec", "true"),
                "does not fit in guest memory");
    }

    @Test
    void an_initrd_that_does_not_fit_in_memory() throws IOException {
        Path initrd = dir.resolve("initrd");
        try (var file = java.nio.channels.FileChannel.open(initrd, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.wrap(new byte[] {1}), (40L << 20) - 1); // a sparse 40 MiB file
        }
        assertOneLineError(run("run", "--kernel", kernel().toString(), "--initrd", initrd.toString(), "--memory",
                "32M", "--exec", "true"), "initrd");
    }

    @Test
    void memory_too_small() throws IOException {
        assertOneLineError(run("run", "--kernel", kernel().toString(), "--memory", "1M", "--exec", "true"),
                "too small");
    }

    @Test
    void a_missing_disk_and_an_unwritable_disk() throws IOException {
        assertOneLineError(run("run", "--kernel", kernel().toString(), "--disk", dir.resolve("none.img").toString(),
                "--exec", "true"), "does not exist");
        // Root ignores permission bits, so use a file the kernel refuses to open for writing to anyone.
        assertOneLineError(run("run", "--kernel", kernel().toString(), "--disk", "/sys/kernel/uevent_seqnum",
                "--exec", "true"), "not writable");
    }

    @Test
    void bad_sizes_and_flags_are_usage_errors() throws IOException {
        Result memory = run("run", "--kernel", kernel().toString(), "--memory", "12 bananas");
        assertEquals(2, memory.code());
        assertTrue(memory.err().contains("'12 bananas' is not a size"), memory.err());
        Result flag = run("run", "--frobnicate");
        assertEquals(2, flag.code());
        assertTrue(flag.err().startsWith("panavisor: Unknown option: '--frobnicate'"), flag.err());
        assertUsageError(run("run", "--kernel", kernel().toString(), "--cpus", "0", "--exec", "true"),
                "Invalid value for option '--cpus': must be between 1 and 32, got 0");
    }

    @Test
    void terminal_options_without_exec_are_usage_errors() throws IOException {
        assertUsageError(run("run", "--kernel", kernel().toString(), "-t"), "-t/--tty works only with --exec");
        assertUsageError(run("run", "--kernel", kernel().toString(), "--show-console"),
                "--show-console works only with --exec");
    }

    @Test
    void a_recording_that_cannot_be_written_is_refused_before_any_vm() throws IOException {
        Path initrd = Files.write(dir.resolve("initrd"), new byte[512]);
        assertOneLineError(run("run", "--kernel", kernel().toString(), "--initrd", initrd.toString(), "--jfr",
                dir.resolve("no/such/dir/boot.jfr").toString(), "--exec", "true"),
                "--jfr " + dir.resolve("no/such/dir/boot.jfr") + ": cannot write a recording there");
        assertOneLineError(run("run", "--kernel", kernel().toString(), "--initrd", initrd.toString(), "--jfr",
                dir.toString(), "--exec", "true"), "--jfr " + dir + ": cannot write a recording there");
    }

    @Test
    void a_host_port_published_twice_is_a_usage_error() throws IOException {
        Path initrd = Files.write(dir.resolve("initrd"), new byte[512]);
        assertUsageError(run("run", "--kernel", kernel().toString(), "--initrd", initrd.toString(), "--net", "user",
                "--publish", "8080:80", "--publish", "8080:81", "--exec", "true"),
                "--publish forwards host port 8080 twice");
    }

    @Test
    void tty_without_a_terminal_on_stdin() throws IOException {
        // Under the test runner stdin is a pipe, as in a script: -t cannot give the command a terminal.
        assertOneLineError(run("run", "--kernel", kernel().toString(), "-t", "--exec", "sh"),
                "--tty needs a terminal on stdin");
    }
}
