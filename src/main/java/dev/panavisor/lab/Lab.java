package dev.panavisor.lab;

import dev.panavisor.host.FileTree;
import dev.panavisor.host.HostCommand;
import dev.panavisor.lab.QemuCommand.Channel;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a command inside the nested lab: boots an L1 Linux under QEMU's TCG with an emulated AMD CPU, whose
 * kvm_amd gives the command a hardware-style /dev/kvm, and returns the command's exit status. See docs/lab.md.
 *
 * <p>One run: resolve the assets (cached), write this run's initramfs into a private temporary directory, listen
 * on five Unix sockets (console, stdout, stderr, status, stdin), start QEMU, relay stdout and stderr live, feed
 * the command's stdin and close it at its end (end-of-file inside), and wait for the status port to say how it
 * ended. Whatever happens (the command ends, setup fails, the time limit passes,
 * the JVM gets Ctrl-C or SIGTERM, the caller is interrupted) QEMU is stopped and the temporary directory deleted;
 * QEMU is also started under {@code setpriv --pdeathsig KILL} so it dies with this process even on SIGKILL.
 */
public final class Lab {
    /** Set in the command's environment inside the lab. */
    public static final String IN_LAB_VARIABLE = "PANAVISOR_IN_LAB";

    /**
     * Options for every JVM that runs inside the lab, Panavisor's and the tests' alike: the JIT stops at C1, with
     * one compiler thread. On an emulated CPU C2's compilations cost more than they return in a run of seconds,
     * and, above all, C2 replacing a C1-compiled method makes the old code "not entrant" by patching a jump over its
     * first bytes while other vCPUs may be running them, cross-modifying code that QEMU's multi-threaded TCG does
     * not always survive: with C2 on, 2 of 14 boots in one lab died at such an entry (SIGILL, SIGSEGV); docs/lab.md,
     * "JVM crashes inside L1". And a disk's worker polls its queue for up to 2 ms before it sleeps, not 32 µs: a
     * thread's wake-up costs about a millisecond on L1's emulated CPUs (docs/devices.md, "Polling before sleeping").
     */
    public static final java.util.List<String> JVM_OPTIONS = java.util.List.of("-XX:TieredStopAtLevel=1",
            "-XX:CICompilerCount=1", "-Dpanavisor.blk.pollMaxMicros=2000");

    /**
     * Options for the JVM that records the lab's AOT cache, on top of {@link #JVM_OPTIONS}: the cache keeps the
     * classes, not the training run's method profiles and the record of its compilations (JEP 515). With them in
     * the cache, every JVM that maps it counts down, at each class initialization, the dependencies of the
     * compilations the training run made ({@code -Xlog:training*=trace}: about 12,500 such steps in a {@code --help}
     * on this host, none without): start-up work on the emulated CPU. The profiles serve C2, which is off here; the
     * recorded compilations would let C1 compile a trained method at its first call instead of at its thresholds.
     * Measured in the lab (docs/performance.md, "Method profiles left out of the lab's cache"): the first KVM_RUN
     * came earlier without them in 17 of 22 pairs, by a median of 0.4-0.5 s where it did. The switch is a
     * diagnostic option of JDK 25, hence the unlock.
     */
    public static final java.util.List<String> AOT_RECORDING_OPTIONS = java.util.List.of(
            "-XX:+UnlockDiagnosticVMOptions", "-XX:-AOTRecordTraining");

    /** True in a process that runs inside the nested lab (there, /dev/kvm is kvm_amd). */
    public static boolean insideLab() {
        return "1".equals(System.getenv(IN_LAB_VARIABLE));
    }
    private static final int CONSOLE_TAIL_LINES = 30;
    /** How long QEMU may take to power off after the command has finished. */
    private static final Duration POWER_OFF_GRACE = Duration.ofSeconds(10);
    private static final Duration TERMINATE_GRACE = Duration.ofSeconds(3);
    /**
     * How long L1 may go without a heartbeat (init.sh sends one every 5 s while the command runs) before the lab
     * counts it as stalled. Generous: with four other labs sharing the two host cores, a 2 s heartbeat arrived at
     * most 4.7 s apart (docs/lab.md).
     */
    static final Duration HEARTBEAT_SILENCE_LIMIT = Duration.ofSeconds(120);

    private final LabConfig config;
    private final Consumer<String> progress;
    private final Duration heartbeatLimit;

    /** The command's exit code and when each setup stage was reached, measured from the start of {@link #run}. */
    public record Result(int exitCode, Map<String, Duration> stages) {
    }

    /**
     * @param config   the lab to run
     * @param progress receives one-line notes about slow first-use steps (installs, downloads)
     */
    public Lab(LabConfig config, Consumer<String> progress) {
        this(config, progress, HEARTBEAT_SILENCE_LIMIT);
    }

    /** With another heartbeat limit (tests use a short one to see a stalled L1 detected). */
    Lab(LabConfig config, Consumer<String> progress, Duration heartbeatLimit) {
        this.config = config;
        this.progress = progress;
        this.heartbeatLimit = heartbeatLimit;
    }

    /** Runs {@code command} in a lab with {@code config}; progress notes go to {@code err}. Returns its exit code. */
    public static int run(LabConfig config, List<String> command, OutputStream out, OutputStream err) {
        return run(config, command, null, out, err);
    }

    /** As above, with {@code in} (null for none: end-of-file at once) as the command's stdin. */
    public static int run(LabConfig config, List<String> command, InputStream in, OutputStream out,
            OutputStream err) {
        PrintStream notes = new PrintStream(err, true, StandardCharsets.UTF_8);
        return new Lab(config, line -> notes.println("panavisor lab: " + line)).run(command, in, out, err)
                .exitCode();
    }

    /**
     * Runs {@code command} (argv, looked up on the host's PATH inside the chroot) and streams its stdout and stderr
     * to {@code out} and {@code err}.
     *
     * @throws LabSetupException   when L1 could not get ready to run the command
     * @throws LabTimeoutException when the time limit passed (QEMU has been stopped)
     * @throws LabException        when assets cannot be had or QEMU cannot start
     */
    public Result run(List<String> command, OutputStream out, OutputStream err) {
        return run(command, null, out, err);
    }

    /**
     * As above, with {@code in} as the command's stdin: copied while the command runs, then closed, which the
     * command reads as end-of-file. Null gives end-of-file at once (the stdin of /dev/null).
     */
    public Result run(List<String> command, InputStream in, OutputStream out, OutputStream err) {
        long start = System.nanoTime();
        // The shares and the command first: a missing directory is said at once, before the assets are resolved
        // (on a new host, apt and downloads for minutes).
        LabConfig inLab = config.withVariable(IN_LAB_VARIABLE, "1");
        List<Export> exports = RunConfig.exports(inLab);
        String runConf = RunConfig.render(inLab, exports, command);
        LabAssets assets = new AssetCache(config.cacheDir(), progress).resolve();
        RunDirectories.removeStale();
        Path runDir = RunDirectories.create();
        try (Session session = new Session(runDir, start)) {
            Path initramfs = runDir.resolve("initramfs.cpio");
            Initramfs.write(initramfs, assets, runConf);
            List<String> qemu = QemuCommand.build(config, assets, initramfs, runDir, exports);
            return session.run(qemu, in, out, err);
        } catch (IOException e) {
            throw new LabException("lab I/O failed: " + e.getMessage(), e);
        } finally {
            FileTree.deleteQuietly(runDir);
        }
    }

    /** One QEMU process and its four channels, torn down by close() whatever happened. */
    private final class Session implements AutoCloseable {
        private final Path runDir;
        private final long start;
        private final Map<Channel, ServerSocketChannel> servers = new EnumMap<>(Channel.class);
        private final ServerSocketChannel stdinServer;
        private final List<Thread> pumps = new ArrayList<>();
        private final ConsoleTail console = new ConsoleTail(CONSOLE_TAIL_LINES);
        private final ConsoleTail qemuOutput = new ConsoleTail(CONSOLE_TAIL_LINES);
        private final Map<String, Duration> stages = new LinkedHashMap<>();
        private final Object statusLock = new Object();
        private StatusLine last;
        private Process qemu;
        private Thread shutdownHook;
        private volatile boolean cancelled;
        private long qemuStart;
        /** When the last status line (a stage or a heartbeat) arrived; guarded by statusLock. */
        private long lastSign;
        /** When L1 was last sent an NMI because it fell silent (read by the status thread), and how many it got. */
        private volatile long lastNudge;
        private int nudges;
        /** The first write to this side's stdout or stderr that failed: the command's output has no reader. */
        private volatile IOException outputLost;

        Session(Path runDir, long start) throws IOException {
            this.runDir = runDir;
            this.start = start;
            for (Channel channel : Channel.values()) {
                ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                server.bind(UnixDomainSocketAddress.of(runDir.resolve(channel.socketName())));
                servers.put(channel, server);
            }
            stdinServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            stdinServer.bind(UnixDomainSocketAddress.of(runDir.resolve(QemuCommand.STDIN_SOCKET)));
        }

        Result run(List<String> qemuCommand, InputStream in, OutputStream out, OutputStream err) throws IOException {
            List<String> command = new ArrayList<>();
            HostCommand.find("setpriv").ifPresent(setpriv -> command.addAll(
                    List.of(setpriv.toString(), "--pdeathsig", "KILL", "--")));
            command.addAll(qemuCommand);
            mark("qemu");
            qemuStart = System.nanoTime();
            shutdownHook = new Thread(this::stopQemu, "panavisor-lab-shutdown");
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            qemu = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .start();
            pump("qemu", qemu.getInputStream(), qemuOutput, null);
            accept(Channel.CONSOLE, console, config.showConsole() ? err : null);
            accept(Channel.STDOUT, null, out);
            accept(Channel.STDERR, null, err);
            accept(Channel.STATUS, new StatusSink(), null);
            feedStdin(in);
            return awaitEnd();
        }

        private Result awaitEnd() {
            // The limit runs from QEMU's start: first-use installs and downloads before it do not count.
            long deadline = qemuStart + config.timeout().toNanos();
            try {
                while (qemu.isAlive()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        stopQemu();
                        throw new LabTimeoutException(config.timeout(), describeStage());
                    }
                    long silent = silentFor();
                    if (silent > heartbeatLimit.toNanos()) {
                        String stage = describeStage();
                        stopQemu();
                        throw new LabStalledException(heartbeatLimit, stage, nudges);
                    }
                    // After a quarter of the limit in silence, and again each quarter, L1 gets an NMI to wake it.
                    long nudgeAfter = heartbeatLimit.toNanos() / 4;
                    if (silent > nudgeAfter && System.nanoTime() - lastNudge > nudgeAfter) {
                        nudge(silent);
                    }
                    if (finalStatus() != null) {
                        // The command is done and its output drained: give L1 a moment to power off.
                        if (!qemu.waitFor(Math.min(left, POWER_OFF_GRACE.toNanos()), TimeUnit.NANOSECONDS)) {
                            stopQemu();
                        }
                        break;
                    }
                    qemu.waitFor(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
                }
                joinPumps();
            } catch (InterruptedException e) {
                stopQemu();
                Thread.currentThread().interrupt();
                throw new LabException("interrupted; QEMU was stopped");
            }
            if (outputLost != null) {
                throw new LabOutputLostException(outputLost);
            }
            StatusLine end = finalStatus();
            if (cancelled && !(end instanceof StatusLine.Exited)) {
                throw new LabException("stopped because this process is exiting (Ctrl-C or SIGTERM); QEMU was stopped");
            }
            if (end instanceof StatusLine.Exited exited) {
                synchronized (statusLock) {
                    return new Result(exited.code(), Collections.unmodifiableMap(new LinkedHashMap<>(stages)));
                }
            }
            if (end instanceof StatusLine.Failed failed) {
                throw new LabSetupException("lab setup failed in L1: " + failed.reason() + consoleTail());
            }
            throw new LabSetupException("L1 stopped " + describeStage() + " without reporting a result"
                    + (console.text().contains("Kernel panic - not syncing")
                            ? ": L1's own kernel panicked (a fault of the emulated CPU, not of the command;"
                                    + " docs/lab.md, \"Stalls\")" : "")
                    + qemuTail() + consoleTail());
        }

        /** Notes that {@code stage} began now (called with statusLock held, or before the pumps start). */
        private void mark(String stage) {
            stages.put(stage, Duration.ofNanos(System.nanoTime() - start));
        }

        private String describeStage() {
            synchronized (statusLock) {
                if (last instanceof StatusLine.Stage(String name)) {
                    return name.equals("run") ? "while the command ran" : "during setup stage '" + name + "'";
                }
                return last == null ? "while L1 was booting" : "after the command ended";
            }
        }

        /**
         * Sends L1 an NMI, first noting where each vCPU is: an NMI gets through where a lost or masked interrupt
         * would not. In the stalls measured so far it never woke L1 (its vCPUs loop in the kernel's live code
         * patching; docs/lab.md, "Stalls"), but the RIPs it reports are how that was found. Harmless to a healthy
         * L1, which logs an unknown NMI and goes on.
         */
        private void nudge(long silentNanos) {
            lastNudge = System.nanoTime();
            nudges++;
            try {
                Path monitor = runDir.resolve(QemuCommand.MONITOR_SOCKET);
                String where = QemuMonitor.vcpuStates(monitor);
                QemuMonitor.injectNmi(monitor);
                progress.accept(String.format("L1 gave no sign of life for %d s; sent it an NMI (%s)",
                        silentNanos / 1_000_000_000L, where));
            } catch (IOException e) {
                progress.accept("L1 gave no sign of life, and QEMU's monitor did not take an NMI: " + e.getMessage());
            }
        }

        /** Nanoseconds since L1 last gave a sign of life while the command runs; 0 in any other stage. */
        private long silentFor() {
            synchronized (statusLock) {
                return last instanceof StatusLine.Stage(String name) && name.equals("run")
                        ? System.nanoTime() - lastSign : 0;
            }
        }

        private StatusLine finalStatus() {
            synchronized (statusLock) {
                return last instanceof StatusLine.Stage ? null : last;
            }
        }

        private String consoleTail() {
            String tail = console.text();
            return tail.isBlank() ? "" : "\n--- L1 console (last lines) ---\n" + tail.stripTrailing();
        }

        private String qemuTail() {
            String tail = qemuOutput.text();
            return tail.isBlank() ? "" : "\n--- QEMU said ---\n" + tail.stripTrailing();
        }

        /** Accepts QEMU's connection on {@code channel} (in its own thread) and pumps it. */
        private void accept(Channel channel, OutputStream sink, OutputStream copy) {
            ServerSocketChannel server = servers.get(channel);
            Thread t = Thread.ofPlatform().daemon().name("panavisor-lab-" + channel).start(() -> {
                try (SocketChannel socket = server.accept()) {
                    Relay.copyAll(Channels.newInputStream(socket), sink, copy);
                } catch (Relay.UserStreamFailed e) {
                    userStreamFailed(e.failure());
                } catch (IOException e) {
                    // Closed before QEMU connected (QEMU failed to start or was stopped): nothing to relay.
                }
            });
            pumps.add(t);
        }

        /**
         * Copies {@code in} to QEMU's stdin socket on a daemon thread, then closes the socket: QEMU then says the
         * port's host side closed, and the command's read() returns 0 once it has every byte. Not joined: a stdin
         * that never ends (a terminal) leaves the thread blocked in read() when the lab is over.
         */
        private void feedStdin(InputStream in) {
            Thread.ofPlatform().daemon().name("panavisor-lab-stdin").start(() -> {
                try (SocketChannel socket = stdinServer.accept()) {
                    if (in != null) {
                        Relay.copyAll(in, Channels.newOutputStream(socket), null);
                    }
                    // Half-close, then wait for QEMU to close: a full close is a hang-up (POLLHUP), on which QEMU
                    // disconnects at once and drops what it has not read yet (seen: 148 KiB of a 1 MiB pipe). After
                    // a half-close QEMU reads to the end, sees end-of-file and closes its side.
                    socket.shutdownOutput();
                    java.nio.ByteBuffer ignored = java.nio.ByteBuffer.allocate(64);
                    while (socket.read(ignored.clear()) >= 0) {
                        // QEMU sends nothing on this port; read() returns -1 once it has closed
                    }
                } catch (IOException e) {
                    // QEMU is gone (the socket closed), or this side's stdin failed: the command's input ends here.
                }
            });
        }

        private void pump(String name, InputStream in, OutputStream sink, OutputStream copy) {
            pumps.add(Thread.ofPlatform().daemon().name("panavisor-lab-" + name).start(() -> {
                try (in) {
                    Relay.copyAll(in, sink, copy);
                } catch (IOException e) {
                    // The process is gone.
                }
            }));
        }

        /**
         * The user's stdout or stderr refused a write (its reader has gone, the disk is full): nothing more of the
         * command's output can be shown, so the command is stopped with QEMU, as {@code run} stops its VM, and the
         * lab ends with {@link LabOutputLostException}. Until 2026-12-06 the relay ended silently and the command ran
         * on: {@code panavisor run --exec yes | head -1} on a host without KVM never ended.
         */
        private void userStreamFailed(IOException e) {
            synchronized (statusLock) {
                if (outputLost != null) {
                    return;
                }
                outputLost = e;
            }
            stopQemu();
        }

        private void joinPumps() throws InterruptedException {
            // QEMU has exited, so every socket it had is at EOF; a server nobody connected to is closed here.
            for (ServerSocketChannel server : servers.values()) {
                closeQuietly(server);
            }
            closeQuietly(stdinServer);
            for (Thread t : pumps) {
                t.join(TERMINATE_GRACE.toMillis());
            }
        }

        /** SIGTERM, a short grace period, then SIGKILL. Safe to call more than once and from the shutdown hook. */
        private void stopQemu() {
            boolean fromHook = Thread.currentThread() == shutdownHook;
            if (fromHook) {
                cancelled = true;
            }
            Process p = qemu;
            if (p != null && p.isAlive()) {
                p.destroy();
                try {
                    if (!p.waitFor(TERMINATE_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                        p.destroyForcibly();
                        p.waitFor(TERMINATE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                    }
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
            if (fromHook) {
                FileTree.deleteQuietly(runDir); // the JVM is exiting: run()'s finally may never get there
            }
        }

        @Override
        public void close() {
            stopQemu();
            for (ServerSocketChannel server : servers.values()) {
                closeQuietly(server);
            }
            closeQuietly(stdinServer);
            if (shutdownHook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(shutdownHook);
                } catch (IllegalStateException e) {
                    // The JVM is shutting down; the hook is running or has run.
                }
            }
        }

        private static void closeQuietly(AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                // Cleanup only.
            }
        }

        /** Parses status lines as they arrive and notes when each stage began. */
        private final class StatusSink extends LineSink {
            @Override
            void line(String text) {
                StatusLine.parse(text).ifPresent(status -> {
                    synchronized (statusLock) {
                        if (lastNudge > lastSign) {
                            progress.accept(String.format("L1 is alive again, %.0f s after the NMI",
                                    (System.nanoTime() - lastNudge) / 1e9));
                        }
                        lastSign = System.nanoTime();
                        switch (status) {
                            case StatusLine.Alive alive -> {
                                return; // a sign of life only: the stage stays what it was
                            }
                            case StatusLine.Stage(String name) -> mark(name);
                            case StatusLine.Exited exited -> mark("exit");
                            case StatusLine.Failed failed -> mark("failed");
                        }
                        if (!(last instanceof StatusLine.Failed)) {
                            last = status; // the first failure is the one to report
                        }
                    }
                });
            }
        }
    }
}
