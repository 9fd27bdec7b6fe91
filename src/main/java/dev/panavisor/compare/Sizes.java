package dev.panavisor.compare;

import dev.panavisor.host.HostCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The size row: bytes on disk. Files are counted by their length (apparent size), symbolic links not followed, so a
 * busybox root of one binary and 400 links counts the binary once. A program's footprint is the program plus the
 * shared libraries {@code ldd} says it loads.
 */
public final class Sizes {
    /** "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)". */
    private static final Pattern LIBRARY = Pattern.compile("(?:=>\\s+)?(/\\S+)\\s+\\(0x");

    private Sizes() {
    }

    /** Total length of the regular files under {@code path} (or of {@code path} itself); 0 if absent. */
    public static long bytes(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            return Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) ? length(path) : 0;
        }
        try (Stream<Path> files = Files.walk(path)) {
            return files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).mapToLong(Sizes::length).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long length(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Programs (found on the PATH) and their shared libraries, each file once; programs not found count 0. */
    public static long programs(List<String> names) throws InterruptedException {
        Set<Path> files = new LinkedHashSet<>();
        for (String name : names) {
            Path program = onPath(name);
            if (program == null) {
                continue;
            }
            files.add(program);
            files.addAll(libraries(program));
        }
        return files.stream().mapToLong(Sizes::length).sum();
    }

    /** The program {@code name} on PATH with its links resolved (the file whose size counts), or null. */
    public static Path onPath(String name) {
        Path candidate = HostCommand.find(name).orElse(null);
        if (candidate == null) {
            return null;
        }
        try {
            return candidate.toRealPath();
        } catch (IOException e) {
            return candidate;
        }
    }

    static List<Path> libraries(Path program) throws InterruptedException {
        try {
            Process ldd = new ProcessBuilder("ldd", program.toString()).redirectErrorStream(true).start();
            String output = new String(ldd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            ldd.waitFor();
            return parseLdd(output);
        } catch (IOException e) {
            return List.of(); // no ldd: count the program alone
        }
    }

    static List<Path> parseLdd(String output) {
        List<Path> libraries = new ArrayList<>();
        for (String line : output.lines().toList()) {
            Matcher library = LIBRARY.matcher(line.strip());
            if (library.find()) {
                libraries.add(Path.of(library.group(1)));
            }
        }
        return libraries;
    }
}
