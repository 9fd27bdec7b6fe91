package dev.panavisor.host;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Runs a program of the host (make, mke2fs, gcc, apt-get, dpkg-deb, xz) for the image build, the lab and the
 * comparison, turning failures into one-line {@link HostException}s that say what was run and what it printed last.
 *
 * <p>Three ways to run: with stdout and stderr merged and handed over line by line as they come ({@link #run}, for
 * long builds that show progress and keep a log), with the two captured apart ({@link #capture}, for tools whose
 * stdout is parsed while stderr carries warnings), and as a filter from bytes to a stream ({@link #pipe}). Standard
 * input is /dev/null except for a pipe. The environment is the caller's plus the given overrides, which is how the
 * reproducibility variables (SOURCE_DATE_EPOCH, KBUILD_BUILD_*) and DEBIAN_FRONTEND reach the tools.
 */
public record HostCommand(List<String> arguments, Path directory, Map<String, String> environment) {
    private static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

    /** Output of a finished run with the streams apart. */
    public record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    public HostCommand {
        arguments = List.copyOf(arguments);
        environment = Map.copyOf(environment);
    }

    public static HostCommand of(String... arguments) {
        return of(List.of(arguments));
    }

    public static HostCommand of(List<String> arguments) {
        return new HostCommand(arguments, null, Map.of());
    }

    public HostCommand in(Path newDirectory) {
        return new HostCommand(arguments, newDirectory, environment);
    }

    public HostCommand withEnvironment(Map<String, String> extra) {
        var merged = new HashMap<>(environment);
        merged.putAll(extra);
        return new HostCommand(arguments, directory, merged);
    }

    /**
     * Finds an executable on PATH (or takes a path with a slash as is). /usr/sbin and /sbin are searched last even
     * when PATH lacks them: a non-root user's PATH often does, and tools such as mke2fs live there.
     */
    public static Optional<Path> find(String name) {
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) && !Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
        }
        String path = System.getenv().getOrDefault("PATH", DEFAULT_PATH);
        for (String dir : (path + ":/usr/sbin:/sbin").split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    /** Runs the command, handing each output line (stdout and stderr merged) to {@code output}; returns the status. */
    public int run(Consumer<String> output) {
        Process process = start(builder().redirectErrorStream(true));
        try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                output.accept(line);
            }
        } catch (IOException e) {
            process.destroyForcibly();
            throw new HostException("cannot read the output of " + arguments.getFirst() + ": " + e.getMessage(), e);
        } catch (java.io.UncheckedIOException e) { // output's own failure: a log that cannot be written (disk full)
            process.destroyForcibly();
            waitFor(process); // gone before the caller cleans up what it was writing
            throw new HostException("'" + this + "' stopped: its output could not be kept: "
                    + IoErrors.describe(e.getCause()), e);
        }
        return waitFor(process);
    }

    /** Runs the command and returns its merged output; fails with its last line if it exits non-zero. */
    public String output() {
        StringBuilder text = new StringBuilder();
        int status = run(line -> text.append(line).append('\n'));
        if (status != 0) {
            throw failed(status, text.toString());
        }
        return text.toString();
    }

    /** Runs the command, failing with its last output line if it exits non-zero. */
    public void check() {
        output();
    }

    /** Runs the command with stdout and stderr captured apart; a non-zero exit is in the result, not thrown. */
    public Result capture() {
        Process p = start(builder());
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        String out = readAll(p.getInputStream());
        int code = waitFor(p);
        return new Result(code, out, err.join());
    }

    /**
     * Feeds {@code input} to the command and copies its standard output to {@code out}; fails with the last line of
     * its error output if it exits non-zero.
     *
     * @throws IOException if writing to {@code out} fails
     */
    public void pipe(byte[] input, OutputStream out) throws IOException {
        Process p = start(builder().redirectInput(ProcessBuilder.Redirect.PIPE));
        CompletableFuture<Void> feed = CompletableFuture.runAsync(() -> {
            try (OutputStream stdin = p.getOutputStream()) {
                stdin.write(input);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // the program stopped reading: its status says why
            }
        });
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        p.getInputStream().transferTo(out);
        int code = waitFor(p);
        feed.exceptionally(e -> null).join();
        if (code != 0) {
            throw failed(code, err.join());
        }
    }

    /** The last non-blank line of a program's output, or "(no output)". */
    public static String lastLine(String text) {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.getLast().strip();
    }

    /** The last {@code count} non-blank lines of a program's output, joined into one line with " | ". */
    public static String lastLines(String text, int count) {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).map(String::strip).toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - count), lines.size()));
    }

    /**
     * The failure of this command with exit status {@code status}, naming the last line it printed, and before it
     * the first line that names a cause, when the last does not (tar's last line is "Exiting with failure status
     * due to previous errors"; the error, "No space left on device", came before).
     */
    public HostException failed(int status, String output) {
        String last = lastLine(output);
        String cause = output.lines().map(String::strip).filter(line -> CAUSE.matcher(line).find()).findFirst()
                .filter(line -> !line.equals(last)).map(line -> line + " ... ").orElse("");
        return new HostException("'" + this + "' failed (exit status " + status + "): " + cause + last);
    }

    /** Words that name why a command failed, in the lines of its output. */
    private static final java.util.regex.Pattern CAUSE = java.util.regex.Pattern.compile(
            "No space left|Permission denied|Read-only file system|Disk quota|Cannot |cannot |No such file");

    @Override
    public String toString() {
        return String.join(" ", arguments);
    }

    private ProcessBuilder builder() {
        ProcessBuilder builder = new ProcessBuilder(arguments)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (directory != null) {
            builder.directory(directory.toFile());
        }
        builder.environment().putAll(environment);
        return builder;
    }

    private Process start(ProcessBuilder builder) {
        try {
            return builder.start();
        } catch (IOException e) {
            throw new HostException("cannot run " + arguments.getFirst() + " (is it installed?): " + e.getMessage(), e);
        }
    }

    /** The exit status; an interrupted caller stops the program rather than leave it running unobserved. */
    private int waitFor(Process process) {
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new HostException("interrupted while running " + this, e);
        }
    }

    private static String readAll(InputStream in) {
        try {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            in.transferTo(buffer);
            return buffer.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
