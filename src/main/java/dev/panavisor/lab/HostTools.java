package dev.panavisor.lab;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Runs the host's own tools (apt-get, apt-cache, dpkg-deb, xz) for the lab's asset handling, turning failures into
 * one-line {@link LabException}s that say what was run and what it printed.
 */
final class HostTools {
    /** Output of a finished tool run. */
    record Result(int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    private HostTools() {
    }

    /** Finds an executable on PATH (or takes an absolute path as is). */
    static Optional<Path> find(String name) {
        if (name.contains("/")) {
            Path p = Path.of(name);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
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

    /** Runs {@code command} in {@code dir} (or the current directory when null), capturing both outputs. */
    static Result run(List<String> command, Path dir, Map<String, String> extraEnv) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.environment().putAll(extraEnv);
        try {
            Process p = pb.start();
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
            String out = readAll(p.getInputStream());
            int code = p.waitFor();
            return new Result(code, out, err.join());
        } catch (IOException e) {
            throw new LabException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while running " + command.getFirst(), e);
        }
    }

    static Result run(List<String> command) {
        return run(command, null, Map.of());
    }

    /** Runs {@code command} and fails with its last line of error output unless it exits 0. */
    static String check(List<String> command, Path dir, Map<String, String> extraEnv) {
        Result r = run(command, dir, extraEnv);
        if (!r.ok()) {
            throw new LabException("'" + String.join(" ", command) + "' failed (exit " + r.exitCode() + "): "
                    + lastLine(r.stderr().isBlank() ? r.stdout() : r.stderr()));
        }
        return r.stdout();
    }

    static String check(List<String> command) {
        return check(command, null, Map.of());
    }

    /** Feeds {@code input} to {@code command} and copies its standard output to {@code out}. */
    static void pipe(List<String> command, byte[] input, OutputStream out) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).start();
        } catch (IOException e) {
            throw new LabException("cannot run " + command.getFirst() + " (is it installed?): " + e.getMessage(), e);
        }
        CompletableFuture<Void> feed = CompletableFuture.runAsync(() -> {
            try (OutputStream stdin = p.getOutputStream()) {
                stdin.write(input);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        p.getInputStream().transferTo(out);
        try {
            int code = p.waitFor();
            feed.exceptionally(e -> null).join();
            if (code != 0) {
                throw new LabException(String.join(" ", command) + " failed (exit " + code + "): "
                        + lastLine(err.join()));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while running " + command.getFirst(), e);
        }
    }

    static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        return lines.length == 0 || lines[lines.length - 1].isBlank() ? "(no output)" : lines[lines.length - 1].strip();
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
