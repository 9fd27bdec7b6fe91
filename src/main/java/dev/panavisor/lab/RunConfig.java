package dev.panavisor.lab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The per-run part of the L1 initramfs: {@code /lab/run.conf}, a shell fragment that init.sh sources. It sets
 * {@code LAB_EXPORTS} (one "tag kind path" line per share), {@code LAB_CWD}, and {@code LAB_SCRIPT}, the command
 * line run by the host's /bin/sh inside the chroot: change to the working directory, then exec the command with
 * exactly the given environment.
 *
 * <p>Everything the caller supplies reaches the shell only inside single quotes, where nothing is special except
 * the quote itself (POSIX.1-2017 XCU 2.2.2), so no argument can inject shell code.
 */
final class RunConfig {
    /** Variable names a POSIX shell and env(1) accept; others are not passed. */
    private static final Pattern VARIABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    /** Exit status the script uses when it cannot even change to the working directory. */
    static final int CWD_FAILED = 125;

    private RunConfig() {
    }

    /**
     * The shares for {@code config}: the working directory and the writable directories (a directory already inside
     * another writable one is covered by it), then the scratch directories. Parents come before children, so
     * mounting in this order keeps nested shares visible.
     */
    static List<Export> exports(LabConfig config) {
        List<Path> writable = new ArrayList<>();
        writable.add(config.workDir());
        writable.addAll(config.writable());
        writable.forEach(RunConfig::checkedDirectory);
        List<Path> outer = writable.stream().distinct()
                .filter(p -> writable.stream().noneMatch(other -> !other.equals(p) && p.startsWith(other)))
                .sorted().toList();
        List<Export> exports = new ArrayList<>();
        for (Path p : outer) {
            exports.add(new Export("rw" + exports.size(), p, Export.Kind.WRITABLE));
        }
        for (Path p : config.scratch().stream().distinct().sorted().toList()) {
            if (outer.stream().anyMatch(p::startsWith)) {
                throw new LabException("scratch directory " + p + " is inside a writable one; choose one of them");
            }
            exports.add(new Export("scratch" + exports.size(), checkedDirectory(p), Export.Kind.SCRATCH));
        }
        exports.sort(Comparator.comparing(Export::path));
        return exports;
    }

    private static Path checkedDirectory(Path p) {
        if (!Files.isDirectory(p)) {
            throw new LabException("directory to share does not exist: " + p);
        }
        if (p.toString().contains("\n") || p.equals(p.getRoot())) {
            throw new LabException("cannot share " + (p.equals(p.getRoot()) ? "/ writable" : "a path with a newline"));
        }
        return p;
    }

    /** The text of /lab/run.conf. */
    static String render(LabConfig config, List<Export> exports, List<String> command) {
        if (command.isEmpty()) {
            throw new LabException("no command to run in the lab");
        }
        StringBuilder lines = new StringBuilder();
        for (Export e : exports) {
            lines.append(e.tag()).append(' ').append(e.kind().name().toLowerCase(Locale.ROOT)).append(' ')
                    .append(e.path()).append('\n');
        }
        return "# Written by dev.panavisor.lab.RunConfig for one lab run; sourced by /init.\n"
                + "LAB_EXPORTS=" + quote(lines.toString()) + "\n"
                + "LAB_CWD=" + quote(config.workDir().toString()) + "\n"
                + "LAB_SCRIPT=" + quote(script(config.workDir(), config.environment(), command)) + "\n";
    }

    /** "cd DIR || exit 125; exec env -i NAME=VALUE... COMMAND ARGS..." with every word quoted. */
    static String script(Path workDir, Map<String, String> environment, List<String> command) {
        StringBuilder s = new StringBuilder("cd ").append(quote(workDir.toString()))
                .append(" || exit ").append(CWD_FAILED).append("; exec env -i");
        for (var variable : new TreeMap<>(environment).entrySet()) {
            if (VARIABLE_NAME.matcher(variable.getKey()).matches()) {
                s.append(' ').append(quote(variable.getKey() + "=" + variable.getValue()));
            }
        }
        for (String word : command) {
            s.append(' ').append(quote(word));
        }
        return s.toString();
    }

    /** Single-quotes {@code word} for a POSIX shell: ' becomes '\'' (close, escaped quote, reopen). */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }
}
