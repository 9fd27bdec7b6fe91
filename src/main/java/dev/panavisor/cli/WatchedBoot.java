package dev.panavisor.cli;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.ProcessTree;
import dev.panavisor.measure.Smaps;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One VMM run watched from outside, the same way for Panavisor and QEMU ({@code bench boot}): each console line
 * is time-stamped as it arrives, from the moment the process was started, and when the guest init reports that it
 * booted, the VMM's memory is read from {@code /proc/PID/smaps} while the guest is still up (Firecracker's
 * method: resident set minus guest memory). The guest must print its kernel log with {@code printk.time=1} at a
 * log level that shows the "Run /init as init process" line (KERN_INFO), and run a command that keeps it up
 * for a moment after the banner (e.g. {@code sleep 1}) so that the reading sees a booted guest.
 */
record WatchedBoot(double firstLineMillis, double runsInitMillis, double guestRunsInitSeconds, double bootedMillis,
        Smaps.Overhead overhead, String output) {
    /** The kernel's first log line: "[    0.000000] Linux version ..." (init/main.c, start_kernel). */
    private static final Pattern FIRST_LINE = Pattern.compile("\\[\\s*0\\.000000\\] ");
    /** init/main.c run_init_process(): pr_info("Run %s as init process\n", ...), after the printk time. */
    private static final Pattern RUNS_INIT = Pattern.compile("\\[\\s*(\\d+\\.\\d+)\\] Run \\S+ as init process");
    /** guest-images/init: its first line once the system is up. */
    private static final String BOOTED = "panavisor-init: booted in";

    static final double NOT_SEEN = -1;

    /**
     * Runs {@code command} to its end (stdin empty, stderr merged into stdout), expecting {@code expectedStatus};
     * {@code guestBytes} is the guest's memory size, for telling its mapping apart from the VMM's own. A run still
     * going after {@code timeLimit} (a guest that stalls, or never powers off) is stopped with all it started, and
     * is one error: the output is read on a thread of its own, so that a console that stays open and silent cannot
     * hold this wait.
     */
    static WatchedBoot run(List<String> command, int expectedStatus, long guestBytes, Duration timeLimit)
            throws InterruptedException {
        String program = RunFailedException.programName(command);
        try (ExitCleanup cleanup = ExitCleanup.install()) {
            long start = System.nanoTime();
            Process process;
            try {
                process = cleanup.start(new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))));
            } catch (IOException e) {
                throw new CommandFailedException("cannot start " + command.getFirst() + ": " + e.getMessage());
            }
            Console console = new Console(process, start, guestBytes);
            Thread reader = Thread.ofPlatform().name("watched-boot").daemon().start(console::read);
            long deadline = start + timeLimit.toNanos();
            boolean ended = process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                    // The output's end too: a process the VMM started may hold it open after the VMM has gone.
                    && reader.join(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            cleanup.checkNotExiting(); // Ctrl-C or SIGTERM ended the run: this process is exiting, not a failed VM
            if (!ended) {
                boolean exited = !process.isAlive();
                ProcessTree.stop(process); // nothing to stop once it has exited: its children went to init
                reader.join(ProcessTree.GRACE); // what it printed until then, for the error
                throw new RunFailedException(program, exited
                        ? program + " ended, but a process it started kept its output open past "
                                + timeLimit.toSeconds() + " s"
                        : program + " did not end within " + timeLimit.toSeconds() + " s and was stopped",
                        console.output());
            }
            return console.result(program, process.exitValue(), expectedStatus);
        }
    }

    /** The console as it arrives: each milestone's time, and the memory reading once the guest has booted. */
    private static final class Console {
        private final Process process;
        private final long start;
        private final long guestBytes;
        private final StringBuilder output = new StringBuilder();
        private double firstLine = NOT_SEEN;
        private double runsInit = NOT_SEEN;
        private double guestRunsInit = NOT_SEEN;
        private double booted = NOT_SEEN;
        private Smaps.Overhead overhead;

        Console(Process process, long start, long guestBytes) {
            this.process = process;
            this.start = start;
            this.guestBytes = guestBytes;
        }

        void read() {
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.ISO_8859_1))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    add(line, (System.nanoTime() - start) / 1e6);
                }
            } catch (IOException e) {
                add("(output unreadable: " + e.getMessage() + ")", NOT_SEEN); // its pipe closed as it was stopped
            }
        }

        private synchronized void add(String line, double at) {
            output.append(line).append('\n');
            if (firstLine == NOT_SEEN && FIRST_LINE.matcher(line).find()) {
                firstLine = at;
            }
            Matcher init = RUNS_INIT.matcher(line);
            if (runsInit == NOT_SEEN && init.find()) {
                runsInit = at;
                guestRunsInit = Double.parseDouble(init.group(1));
            }
            if (booted == NOT_SEEN && line.contains(BOOTED)) {
                booted = at;
                overhead = readOverhead(process, guestBytes);
            }
        }

        synchronized String output() {
            return output.toString();
        }

        synchronized WatchedBoot result(String program, int status, int expectedStatus) {
            if (status != expectedStatus || overhead == null) {
                throw new RunFailedException(program, program + " exited with " + status + " (expected "
                        + expectedStatus + (overhead == null ? ", after the init's banner" : "") + ")",
                        output.toString());
            }
            return new WatchedBoot(firstLine, runsInit, guestRunsInit, booted, overhead, output.toString());
        }
    }

    private static Smaps.Overhead readOverhead(Process process, long guestBytes) {
        try {
            return Smaps.ofProcess(process.pid()).overhead(Smaps.anonymousAtLeast(guestBytes));
        } catch (UncheckedIOException e) {
            return null; // gone already: reported as a failed run above
        }
    }
}
