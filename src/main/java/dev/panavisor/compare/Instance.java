package dev.panavisor.compare;

import dev.panavisor.host.ProcessTree;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One started instance of a peer: its process, its output (stdout and stderr together), and when it became ready
 * and when it ended, on the {@link System#nanoTime()} clock from just before the process was started.
 *
 * <p>Ready means the workload's first instruction as far as it can be seen from outside: a line on the output
 * that contains {@code readyText} (seen as it arrives), or a marker file that becomes non-empty (QEMU's debug
 * console on the guest init's boot-marker port). Whichever is given; both may be null for "never".
 */
final class Instance implements AutoCloseable {
    private static final int MAX_OUTPUT_CHARS = 64 * 1024;

    private final Process process;
    private final long startNanos;
    private final String readyText;
    private final Path readyFile;
    private final StringBuilder output = new StringBuilder();
    private final Thread reader;
    private volatile long readyNanos = -1;
    private long endNanos = -1;

    private Instance(Process process, long startNanos, String readyText, Path readyFile) {
        this.process = process;
        this.startNanos = startNanos;
        this.readyText = readyText;
        this.readyFile = readyFile;
        this.reader = Thread.ofPlatform().daemon().name("instance-output-" + process.pid()).start(this::readOutput);
        if (readyFile != null) {
            // The marker file is watched from the start, not only when someone waits for readiness: a run that is
            // only awaited to its end must still know when it became ready.
            Thread.ofPlatform().daemon().name("instance-marker-" + process.pid()).start(this::watchReadyFile);
        }
    }

    private void watchReadyFile() {
        try {
            while (!ready() && process.isAlive()) {
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static Instance start(List<String> command, String readyText, Path readyFile) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        long start = System.nanoTime();
        return new Instance(builder.start(), start, readyText, readyFile);
    }

    private void readOutput() {
        try (BufferedReader lines = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.ISO_8859_1))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (readyNanos < 0 && readyText != null && line.contains(readyText)) {
                    readyNanos = System.nanoTime();
                }
                synchronized (output) {
                    if (output.length() < MAX_OUTPUT_CHARS) {
                        output.append(line).append('\n');
                    }
                }
            }
        } catch (IOException e) {
            // The process was killed: its output ends here.
        }
    }

    long pid() {
        return process.pid();
    }

    /** Waits until ready, the process ends, or the timeout passes; true when ready. */
    boolean awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (ready()) {
                return true;
            }
            if (!process.isAlive()) {
                reader.join(1000);
                return ready();
            }
            Thread.sleep(5);
        }
        return ready();
    }

    private synchronized boolean ready() {
        if (readyNanos < 0 && readyFile != null) {
            try {
                if (Files.exists(readyFile) && Files.size(readyFile) > 0) {
                    readyNanos = System.nanoTime();
                }
            } catch (IOException e) {
                // Not there yet.
            }
        }
        return readyNanos >= 0;
    }

    /** Waits for the end; the exit status, or -1 after killing an instance that overran the timeout. */
    int awaitExit(Duration timeout) throws InterruptedException {
        boolean ended = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        long now = System.nanoTime();
        if (!ended) {
            close();
            return -1;
        }
        ready(); // a marker file written just before the end
        endNanos = now;
        reader.join(2000);
        return process.exitValue();
    }

    /** Whether the process has ended by itself with status 0 (a killed one ends with a signal's status). */
    boolean endedCleanly() {
        return !process.isAlive() && process.exitValue() == 0;
    }

    /** Start to ready in ms, NaN when it never became ready. */
    double readyMillis() {
        return readyNanos < 0 ? Double.NaN : (readyNanos - startNanos) / 1e6;
    }

    /** Start to end in ms, NaN while it runs. */
    double endMillis() {
        return endNanos < 0 ? Double.NaN : (endNanos - startNanos) / 1e6;
    }

    String output() {
        synchronized (output) {
            return output.toString();
        }
    }

    /** Kills the process and everything it started (an idle VM, a container runtime with its container). */
    @Override
    public void close() {
        ProcessTree.kill(process);
    }
}
