package dev.panavisor.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The command line that starts Panavisor in a new JVM: inside the nested lab ({@link InLab}), and for each round
 * of {@code bench boot} and {@code bench io}. The JVM options come from {@code jvm.options}, the same file the
 * {@code ./panavisor} launcher reads (src/main/resources/dev/panavisor/cli/jvm.options), so every Panavisor JVM
 * starts alike and can share an {@link AotCache}; docs/performance.md ("Start-up") has the measurements behind
 * each option.
 */
final class JavaCommand {
    private static final String OPTIONS_RESOURCE = "jvm.options";

    private JavaCommand() {
    }

    /**
     * A Panavisor JVM that runs inside the nested lab ({@code inLab}) or on this host, with that place's AOT cache
     * when it is fresh.
     */
    static List<String> panavisor(boolean inLab) {
        return of(inLab, cache(inLab).filter(c -> c.state() == AotCache.State.FRESH)
                .map(AotCache::useOptions).orElse(List.of()));
    }

    /** That place's AOT cache; none when Panavisor runs from a classes directory (tests): the JVM needs a jar. */
    static Optional<AotCache> cache(boolean inLab) {
        Path jar = jar();
        return Files.isRegularFile(jar) && jar.toString().endsWith(".jar")
                ? Optional.of(AotCache.forJar(jar, inLab)) : Optional.empty();
    }

    /**
     * This JVM's java binary and this jar with the shared options, plus {@code extra} (the AOT cache's). On an
     * emulated CPU (the lab) the JIT stops at C1, with one compiler thread ({@link dev.panavisor.lab.Lab#JVM_OPTIONS}:
     * faster there, and it keeps the JVM clear of the code patching that crashed JVMs in L1).
     */
    static List<String> of(boolean emulatedCpu, List<String> extra) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(sharedOptions());
        if (emulatedCpu) {
            command.addAll(dev.panavisor.lab.Lab.JVM_OPTIONS);
        }
        command.addAll(extra);
        Path jar = jar();
        // Run from a classes directory (tests): the same class path, as no jar exists. From the jar: -cp and the main
        // class, as ./panavisor starts it, not -jar, whose JVM opens the jar before main to read its Main-Class
        // (docs/performance.md, "A jar of Panavisor's own classes").
        command.addAll(List.of("-cp", Files.isDirectory(jar) ? System.getProperty("java.class.path") : jar.toString(),
                Main.class.getName()));
        return command;
    }

    /** The options in jvm.options: one per line; blank lines and lines starting with '#' are comments. */
    static List<String> sharedOptions() {
        try (InputStream in = JavaCommand.class.getResourceAsStream(OPTIONS_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("jvm.options is missing from the Panavisor jar");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> parse(String text) {
        List<String> options = new ArrayList<>();
        for (String line : text.split("\n")) {
            String option = line.strip();
            if (!option.isEmpty() && !option.startsWith("#")) {
                options.add(option);
            }
        }
        return options;
    }

    /** The jar this JVM runs (or, in tests, the classes directory). */
    static Path jar() {
        try {
            return Path.of(JavaCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the Panavisor jar", e);
        }
    }
}
