package dev.panavisor.image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs a program of the host (make, mke2fs, gcc, apt-get) for an image build.
 *
 * <p>Its output (stdout and stderr merged) goes line by line to a consumer as it is produced, so long
 * builds can show progress and keep a log; the environment is the caller's plus the given overrides, which is
 * how the reproducibility variables (SOURCE_DATE_EPOCH, KBUILD_BUILD_*) reach the tools.
 */
public record HostCommand(List<String> arguments, Path directory, Map<String, String> environment) {
    public HostCommand {
        arguments = List.copyOf(arguments);
        environment = Map.copyOf(environment);
    }

    public static HostCommand of(String... arguments) {
        return new HostCommand(List.of(arguments), null, Map.of());
    }

    public HostCommand in(Path newDirectory) {
        return new HostCommand(arguments, newDirectory, environment);
    }

    public HostCommand withEnvironment(Map<String, String> extra) {
        var merged = new java.util.HashMap<>(environment);
        merged.putAll(extra);
        return new HostCommand(arguments, directory, merged);
    }

    /** Runs the command, handing each output line to {@code output}; returns the exit status. */
    public int run(Consumer<String> output) {
        ProcessBuilder builder = new ProcessBuilder(arguments).redirectErrorStream(true);
        if (directory != null) {
            builder.directory(directory.toFile());
        }
        builder.environment().putAll(environment);
        builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            Process process = builder.start();
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    output.accept(line);
                }
            }
            return process.waitFor();
        } catch (IOException e) {
            throw new ImageException("cannot run " + arguments.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("interrupted while running " + String.join(" ", arguments), e);
        }
    }

    /** Runs the command and returns its output; fails with the output in the message if it exits non-zero. */
    public String output() {
        StringBuilder text = new StringBuilder();
        int status = run(line -> text.append(line).append('\n'));
        if (status != 0) {
            throw new ImageException(String.join(" ", arguments) + " failed (exit status " + status + "): "
                    + text.toString().strip());
        }
        return text.toString();
    }

    /** Runs the command, failing with its last output lines if it exits non-zero. */
    public void check() {
        output();
    }

    @Override
    public String toString() {
        return String.join(" ", arguments);
    }
}
