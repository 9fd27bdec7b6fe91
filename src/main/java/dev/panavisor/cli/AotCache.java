package dev.panavisor.cli;

import dev.panavisor.lab.Lab;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * JDK 25's ahead-of-time cache for the JVMs that run Panavisor (JEP 483 "Ahead-of-Time Class Loading &amp; Linking",
 * JEP 514 "Ahead-of-Time Command-Line Ergonomics", JEP 515 "Ahead-of-Time Method Profiling"). A training run started
 * with {@code -XX:AOTCacheOutput=FILE} records which classes the application loads and links and how its methods
 * behave; when it exits, the JVM writes them into FILE. A later JVM started with {@code -XX:AOTCache=FILE} maps them
 * in instead of reading, parsing, verifying and linking each class again: the start-up work that the nested lab's
 * emulated CPU makes slow (docs/performance.md, "Start-up").
 *
 * <p>The cache is valid for one jar (the JVM checks the jar's size and time stamp) and one JDK build, and the JVM
 * options that matter must match (the native-access grant among them, so Panavisor's JVMs share one option set,
 * {@link JavaCommand}). It lives beside the jar, named after the JDK's version, and after the runtime when the JVM
 * runs from the one {@code ./panavisor} links ({@link #LINKED_RUNTIME_STAMP}): a cache maps only into the runtime
 * whose module image recorded it. A cache older than the jar is stale and is ignored with one line (the JVM's own
 * complaint would be five lines of {@code [error][aot]}).
 *
 * <p>The lab's cache is recorded without the method profiles and the record of the training run's compilations
 * ({@link Lab#AOT_RECORDING_OPTIONS}): the lab's JVMs stop at C1, and following them costs start-up work there.
 *
 * <p>A recording is written under a temporary name and renamed when its run has ended, so a JVM starting meanwhile
 * never maps a half-written file.
 */
record AotCache(Path file, Path jar, boolean lab) {
    enum State { FRESH, STALE, MISSING }

    /** The file tools/lib/runtime.sh leaves in the home of the Java runtime it links (what it was linked from). */
    static final String LINKED_RUNTIME_STAMP = "panavisor-runtime";

    /**
     * The cache for JVMs started inside the nested lab, or for JVMs started on this host. Two files, because each is
     * recorded where it is used: the lab's emulated CPU and the host's differ, and so do the runs that train them.
     */
    static AotCache forJar(Path jar, boolean lab) {
        return forJar(jar, lab, Path.of(System.getProperty("java.home")));
    }

    /** The same for a JVM whose home is {@code javaHome}; the launcher names it the same way (./panavisor). */
    static AotCache forJar(Path jar, boolean lab, Path javaHome) {
        boolean linked = Files.isRegularFile(javaHome.resolve(LINKED_RUNTIME_STAMP));
        String name = "panavisor" + (lab ? "-lab" : "") + "-jdk" + Runtime.version() + (linked ? "-linked" : "")
                + ".aot";
        return new AotCache(jar.resolveSibling(name), jar, lab);
    }

    State state() {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) == 0) {
                return State.MISSING;
            }
            return Files.getLastModifiedTime(file).compareTo(Files.getLastModifiedTime(jar)) < 0
                    ? State.STALE : State.FRESH;
        } catch (IOException e) {
            return State.MISSING;
        }
    }

    /** The JVM option that maps this cache in. */
    List<String> useOptions() {
        return List.of("-XX:AOTCache=" + file);
    }

    /** Whether a recording can be written beside the jar (an installed, read-only jar gets none). */
    boolean canRecord() {
        return Files.isWritable(file.getParent());
    }

    /**
     * The options for a JVM: use the cache when it is fresh; otherwise say why not in one line (when stale) and,
     * if {@code allowRecording}, record a new one during this run. The caller ends the recording with
     * {@link Recording#finish()} once that JVM has exited.
     */
    Recording optionsFor(boolean allowRecording, PrintWriter err) {
        State state = state();
        if (state == State.FRESH) {
            return new Recording(this, useOptions(), null);
        }
        if (state == State.STALE) {
            err.println("panavisor: the AOT cache " + file.getFileName() + " is older than the jar: not used"
                    + (allowRecording && canRecord() ? "; this run records a new one (without the system-call filter)"
                            : ""));
        }
        if (!allowRecording || !canRecord()) {
            return new Recording(this, List.of(), null);
        }
        if (state == State.MISSING) {
            err.println("panavisor: this run also records the JVM's AOT cache (once per jar and JDK) so that later"
                    + " starts are faster, and runs without the system-call filter (the JVM starts a process to"
                    + " write the cache as it exits): " + file);
        }
        err.flush();
        Path temporary = file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + ".recording");
        // The recording JVM says why it leaves each class out ("Skipping picocli/...: Old class has been linked"),
        // about 200 warnings: only its errors reach the user. (Its few lines about writing the cache stay: the
        // switch that silences them, -XX:-DisplayVMOutput, also silences a JVM that fails to start, and this is
        // the user's own run; docs/performance.md, "The AOT cache".) The lab's cache leaves the method profiles out.
        List<String> options = new ArrayList<>(List.of("-XX:AOTCacheOutput=" + temporary, "-Xlog:aot*=error:stderr"));
        if (lab) {
            options.addAll(Lab.AOT_RECORDING_OPTIONS);
        }
        return new Recording(this, List.copyOf(options), temporary);
    }

    /** The JVM options chosen for one run; when recording, where the JVM writes the new cache. */
    record Recording(AotCache cache, List<String> options, Path temporary) {
        boolean recording() {
            return temporary != null;
        }

        /**
         * The {@code run} options a recording run needs: {@code --no-seccomp}, because a JVM recording with
         * {@code -XX:AOTCacheOutput} starts a child JVM as it exits to write the cache (JEP 514), which the
         * filter forbids; the recording then fails and no cache is ever written.
         */
        List<String> runOptions() {
            return recording() ? List.of("--no-seccomp") : List.of();
        }

        /**
         * After the JVM has exited: moves a complete recording into place (the JVM writes it as its last act;
         * a run that crashed leaves none). Returns whether a new cache is now in place.
         */
        boolean finish() {
            if (temporary == null) {
                return false;
            }
            Path config = temporary.resolveSibling(temporary.getFileName() + ".config");
            try {
                Files.deleteIfExists(config); // the training's intermediate file, normally removed by the JVM
                if (!Files.isRegularFile(temporary) || Files.size(temporary) == 0) {
                    Files.deleteIfExists(temporary);
                    return false;
                }
                try {
                    Files.move(temporary, cache.file(), StandardCopyOption.ATOMIC_MOVE,
                            StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temporary, cache.file(), StandardCopyOption.REPLACE_EXISTING);
                }
                return true;
            } catch (IOException e) {
                return false;
            }
        }

        /** After a failed run: removes whatever it left. */
        void discard() {
            if (temporary != null) {
                try {
                    Files.deleteIfExists(temporary);
                    Files.deleteIfExists(temporary.resolveSibling(temporary.getFileName() + ".config"));
                } catch (IOException e) {
                    // a leftover temporary file is never used: only the final name is
                }
            }
        }
    }
}
