package dev.panavisor.cli;

import dev.panavisor.api.ConfigFile;
import dev.panavisor.api.VmSpec;
import dev.panavisor.image.GuestImages;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.lab.ConsoleTail;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.measure.Decimal;
import dev.panavisor.vmm.BootTimeline;
import dev.panavisor.vmm.CommandStreams;
import dev.panavisor.vmm.Confinement;
import dev.panavisor.vmm.EventLog;
import dev.panavisor.vmm.HostTerminal;
import dev.panavisor.vmm.Machine;
import dev.panavisor.vmm.MachineConfig;
import dev.panavisor.vmm.MemoryReport;
import dev.panavisor.vmm.Outcome;
import dev.panavisor.vmm.Watch;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.FileDescriptor;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code panavisor run}: boot a Linux guest. Its options, their help text and exit statuses are declared in
 * {@link RunCommandSpec}, which binds each option to a field here.
 */
final class RunCommand implements Callable<Integer> {
    static final int GUEST_PANIC = 121;
    static final int GUEST_CRASH = 122;
    static final int GUEST_STALLED = 123;
    /** The --stall-limit default inside the nested lab, where guests have been seen to stall (docs/lab.md). */
    static final Duration LAB_STALL_LIMIT = Duration.ofMinutes(2);

    /** This command's model ({@link RunCommandSpec#run}) and the root command it runs under. */
    CommandSpec spec;
    PanavisorCommand root;

    // The options' values, written by picocli through RunCommandSpec's bindings; the initial values are the defaults.
    Path configFile;
    Path kernel;
    Path initrd;
    List<MachineConfig.Disk> disks = new ArrayList<>();
    MachineConfig.Net net;
    List<MachineConfig.PortForward> publish = new ArrayList<>();
    MachineConfig.Vsock vsock;
    String cmdline = "";
    long memory = MachineConfig.DEFAULT_MEMORY;
    int cpus = 1;
    MachineConfig.ConsoleKind console = MachineConfig.ConsoleKind.SERIAL;
    String exec;
    boolean tty;
    boolean showConsole;
    Duration stallLimit;
    boolean bootTime;
    boolean exitStats;
    boolean stats;
    boolean timeline;
    boolean verbose;
    TraceKind trace;
    Path jfr;
    boolean noSeccomp;

    /** What {@code --trace} can show. */
    enum TraceKind {
        /** Every VM exit, decoded to the device register it reached. */
        EXITS
    }

    /**
     * Asked, once the VM is built and before its first KVM_RUN, whether to run it: false abandons it (the VM is
     * closed and the run returns). Set by serve's standby, which builds a VM before InstanceStart
     * ({@link StandbyCommand}); null, as on the command line, runs it at once.
     */
    StartGate startGate;

    /** See {@link #startGate}. */
    interface StartGate {
        boolean proceed();
    }

    @Override
    public Integer call() {
        long parsedNanos = System.nanoTime();
        long startNanos = processStartNanos();
        // Always kept (a few clock readings), printed and handed to the Machine only with --timeline.
        BootTimeline phases = new BootTimeline(startNanos);
        if (root != null && root.mainNanos() != PanavisorCommand.NO_MAIN_NANOS) {
            phases.markAt(BootTimeline.Phase.JVM_UP, root.mainNanos());
        }
        phases.markAt(BootTimeline.Phase.COMMAND_PARSED, parsedNanos);
        PrintWriter err = spec.commandLine().getErr();
        if ((tty || showConsole) && exec == null) {
            throw new UsageException((tty ? "-t/--tty" : "--show-console") + " works only with --exec");
        }
        if (tty && exec != null && !Lab.insideLab() && !HostTerminal.stdinIsTerminal()) {
            throw new CommandFailedException("--tty needs a terminal on stdin; without it, piped or redirected "
                    + "stdin goes to the command as it is");
        }
        if (configFile != null) {
            applyConfigFile(err);
        }
        MachineConfig config = configFromOptions(err);
        LinuxGuests where = LinuxGuests.locate();
        if (where.route() != LinuxGuests.Route.DIRECT) {
            // Before the lab boots (a minute): a bad kernel, initrd or disk fails now. Directly, Machine.create
            // checks the same things as it loads them, once (checking here too loaded the kernel twice).
            MachineConfig.checkFiles(config, true, timeline || jfr != null);
            if (jfr != null) {
                FlightRecording.checkWritable(jfr);
            }
        }
        phases.mark(BootTimeline.Phase.IMAGES_LOCATED);
        return switch (where.route()) {
            case DIRECT -> {
                CtrlAltDelSignal.holdUntilBuilt(); // a SIGPWR while the VM is built is pressed once it is
                yield runHere(config, startNanos, phases, err);
            }
            case LAB -> {
                err.println("panavisor: " + where.labNotice());
                err.flush();
                Runnable sigpwrOff = CtrlAltDelSignal.installForLab(err);
                try {
                    yield InLab.run(config, this);
                } finally {
                    sigpwrOff.run();
                }
            }
            case NONE -> throw new CommandFailedException(where.nowhereReason());
        };
    }

    private int runHere(MachineConfig config, long startNanos, BootTimeline phases, PrintWriter err) {
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        // --exec without -t: the command's streams on their own device; the console (init banner, kernel) is not
        // the command's output: shown on stderr with --show-console, else only its last lines if the guest fails.
        CommandStreams streams = config.hasStreamPorts()
                ? new CommandStreams(out, new FileOutputStream(FileDescriptor.err)) : null;
        ConsoleTail consoleTail = streams != null && !showConsole ? new ConsoleTail(20) : null;
        Thread signalHook = null;
        Integer status = null; // set once the run has ended: its timeline is printed after the VM is closed
        // The run's last lines (--boot-time, --exit-stats, --stats, the console's tail, why it failed) are written
        // here and printed once the VM is closed and its disks flushed: a stderr that nobody reads (a paused pager)
        // then holds a process whose guest's data is safe, not a VM that is still open.
        java.io.StringWriter lastLines = new java.io.StringWriter();
        try (FlightRecording recording = jfr == null ? null : FlightRecording.start(jfr, err, phases);
                Kvm kvm = Kvm.open();
                Machine machine = Machine.create(kvm, config, streams == null ? out
                        : consoleTail == null ? new FileOutputStream(FileDescriptor.err) : consoleTail,
                        startNanos, timeline || jfr != null ? phases : null, streams, watch());
                CommandStreams closedFirst = streams) {
            if (startGate != null) {
                // A standby's VM: its wait for InstanceStart has time for what the guest's boot would wait for.
                machine.faultInBootMemory();
                if (!startGate.proceed()) {
                    return ExitCodes.OK; // built for a configuration that has since changed
                }
            }
            signalHook = stopOnTermination(machine, streams, closed);
            try (HostTerminal terminal = streams == null ? HostTerminal.rawIfInteractive() : null) {
                status = runBuilt(machine, config, streams, consoleTail, terminal, startNanos, phases, err,
                        new PrintWriter(lastLines));
            }
        } finally {
            err.print(lastLines);
            if (timeline && status != null) {
                // After the VM is closed, so that its teardown is on it; before the latch, which a termination
                // signal's hook waits for before the JVM ends.
                phases.report().forEach(err::println);
            }
            err.flush(); // a termination signal's hook lets the JVM end as soon as this latch opens
            closed.countDown();
            if (signalHook != null) {
                dropHook(signalHook);
            }
        }
        return status;
    }

    /**
     * The VM is closed: a signal from now on has nothing to stop, and the JVM's exit need not start the hook's thread
     * (a thread started on L1's emulated CPU as the process ends: docs/performance.md, "After the command").
     */
    private static void dropHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // A signal came: the JVM is shutting down and runs the hook, which the latch has just released.
        }
    }

    /**
     * What the run does at its confinement point, once the VM's threads run: installs the seccomp filter, or, with
     * --no-seccomp (or --jfr, whose recording writes files), only prepares it (builds, encodes, links the calls) and
     * drops it, about a millisecond on a host. The AOT cache's training run is such an unconfined run
     * (AotCache.Recording.runOptions), so preparing the filter there is what puts its classes in the cache; a
     * confined run then loads none of them from the jar while its guest boots (docs/performance.md, "Classes
     * generated at start" and "A jar of Panavisor's own classes").
     */
    private Runnable confinement(boolean sockets) {
        if (noSeccomp || jfr != null) {
            return () -> Confinement.prepare(sockets);
        }
        return () -> Confinement.install(sockets);
    }

    /**
     * Runs the built VM to its end and returns the exit status; {@code err} is for what is said while the guest runs,
     * {@code report} for the run's last lines, which the caller prints after the VM is closed.
     */
    private int runBuilt(Machine machine, MachineConfig config, CommandStreams streams, ConsoleTail consoleTail,
            HostTerminal terminal, long startNanos, BootTimeline phases, PrintWriter err, PrintWriter report) {
        CtrlAltDelSignal.install(machine, err);
        if (streams == null) {
            ConsoleInput.start(machine);
        } else {
            streams.whenOutputFails(error -> machine.stop("the command's output could not be written: "
                    + error.getMessage()));
            StdinForwarder.start(new java.io.FileInputStream(FileDescriptor.in), streams, machine::isRunning);
            streams.startOutput();
        }
        boolean sockets = config.vsock().isPresent() || config.net().map(n -> n.tap() == null).orElse(false);
        Runnable confinement = confinement(sockets);
        Outcome outcome = machine.run(effectiveStallLimit(), () -> {
            confinement.run();
            linkExitCodeAhead(); // from here on this thread waits for the VM's end (and trims the heap at the boot)
        });
        if (streams != null) {
            streams.finish(outcome); // every byte for the reader, unless the host stopped the VM
        }
        IOException outputLost = streams == null ? null : streams.outputError();
        if (terminal != null) {
            terminal.close();
        }
        if (bootTime) {
            long nanos = machine.bootNanos();
            report.println(nanos < 0 ? "panavisor: the guest never reached its boot marker"
                    : "panavisor: boot time " + Decimal.of(nanos, 1_000_000, 1) + " ms (VMM start to /init)");
        }
        if (exitStats) {
            report.println("panavisor: " + machine.exitStats().total() + " exits; busiest: "
                    + String.join(", ", machine.exitStats().top(8)));
            if (machine.exitStats().coalescedWrites() > 0) {
                report.println("panavisor: " + machine.exitStats().coalescedWrites()
                        + " writes reached their device without an exit (KVM's coalesced ring)");
            }
        }
        if (stats) {
            MemoryReport.lines(machine.memoryOverhead()).forEach(line -> report.println("panavisor: " + line));
        }
        if (timeline || jfr != null) {
            // The boot timer has the marker's time (it serves --boot-time too): copy it into the timeline.
            if (machine.bootNanos() >= 0) {
                phases.markAt(BootTimeline.Phase.BOOT_MARKER, startNanos + machine.bootNanos());
            }
        }
        if (outputLost != null) {
            return outputLost(outputLost, report);
        }
        if (consoleTail != null && (machine.guestExitStatus() == null || !(outcome instanceof Outcome.Stopped))) {
            consoleTail.text().lines().forEach(line -> report.println("panavisor: guest console: " + line));
        }
        return exitCode(outcome, machine.guestExitStatus(), exec != null, report);
    }

    /** What --verbose and --trace ask the machine to report, on this process's stderr. */
    Watch watch() {
        EventLog stderr = EventLog.to(System.err);
        return new Watch(verbose ? stderr : EventLog.OFF, trace == TraceKind.EXITS ? stderr : null);
    }

    /**
     * SIGTERM or SIGINT (the JVM runs its shutdown hooks for both) stops the VM the way Ctrl-A x does: every vCPU is
     * kicked out of KVM_RUN, and the hook waits for {@code Machine.close()} to flush the disks, so a VMM told to stop
     * loses no data the guest had written. The process then ends with the JVM's status for the signal (143, 130).
     * A command's output that the host's reader has not taken is written for 2 s more at most: a reader that stopped
     * reading does not hold the VMM's end ({@code CommandStreams.stopWaiting}), as it would not hold a killed
     * program's.
     */
    private static Thread stopOnTermination(Machine machine, CommandStreams streams,
            java.util.concurrent.CountDownLatch closed) {
        Thread hook = Thread.ofPlatform().name("stop-on-signal").unstarted(() -> {
            if (streams != null) {
                streams.stopWaiting(); // a reader that stopped reading holds neither the device nor the run's end
            }
            BoundedNotice notice = null;
            if (machine.isRunning()) {
                machine.stop("Panavisor received a termination signal");
                // Said after the stop, never by this hook itself: a stderr nobody reads would hold it in the write.
                notice = BoundedNotice.start("stop-notice",
                        () -> System.err.println("panavisor: stopping the VM (termination signal)"));
            }
            try {
                closed.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (notice != null) {
                notice.await();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    /** The stall limit to use: the option's, else 2 min inside the lab, else none; 0 means none. */
    Duration effectiveStallLimit() {
        Duration limit = stallLimit != null ? stallLimit
                : Lab.insideLab() ? LAB_STALL_LIMIT : null;
        return limit == null || limit.isZero() ? null : limit;
    }

    /**
     * When this process started, on the {@link System#nanoTime()} clock: "VMM start" for the boot time includes
     * the JVM's own start-up, as a fair comparison with a native VMM must.
     */
    static long processStartNanos() {
        long now = System.nanoTime();
        try {
            // Both numbers count from the host's boot: /proc/uptime in seconds, field 22 of /proc/self/stat in
            // clock ticks (USER_HZ, 100 on Linux). (ProcessHandle's start instant is built on /proc/stat's btime,
            // whole seconds, and can be up to 1 s early.)
            double uptime = Double.parseDouble(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/uptime"))
                    .split(" ")[0]);
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            double started = Long.parseLong(fields[19]) / 100.0; // field 22 overall; fields[0] is field 3
            return now - (long) ((uptime - started) * 1e9);
        } catch (java.io.IOException | RuntimeException e) {
            return now; // not Linux's procfs: count from here
        }
    }

    /** The options a configuration file replaces; giving one beside --config would leave it unclear which wins. */
    static final List<String> CONFIG_FILE_OPTIONS = List.of("--kernel", "--initrd", "--disk", "--cmdline",
            "--memory", "--cpus");

    /**
     * Reads --config into the very fields the options fill, so that the configuration is then built from them
     * by {@link #configFromOptions} as from flags: one path for both.
     */
    void applyConfigFile(PrintWriter err) {
        for (String option : CONFIG_FILE_OPTIONS) {
            if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
                throw new UsageException(option + " and --config both describe the VM; give one of them");
            }
        }
        VmSpec vm = ConfigFile.read(configFile, warning -> err.println("panavisor: warning: " + configFile + ": "
                + warning));
        err.flush();
        kernel = vm.kernel();
        initrd = vm.initrd().orElse(null);
        disks = new ArrayList<>(vm.disks());
        cmdline = vm.bootArgs();
        memory = vm.memoryBytes();
        cpus = vm.cpus();
        if (vm.net().isPresent()) {
            if (net != null) {
                throw new UsageException("--net and the config file's network-interfaces both give the VM a "
                        + "network card; give one of them");
            }
            net = vm.net().get();
        }
        if (vm.vsock().isPresent()) {
            if (vsock != null) {
                throw new UsageException("--vsock and the config file's vsock both describe the vsock device; "
                        + "give one of them");
            }
            vsock = vm.vsock().get();
        }
    }

    private MachineConfig configFromOptions(PrintWriter err) {
        MachineConfig.Net network = withPublished(net, publish); // its usage errors before any image is built
        Path kernelPath = kernel;
        Path initrdPath = initrd;
        // Only the default images a run lacks are located (or built): a user's own kernel is never held up by
        // the default kernel's build, nor an own initramfs by the root file system's.
        boolean needsRootfs = initrdPath == null && disks.isEmpty();
        if (kernelPath == null || needsRootfs) {
            GuestImages images = GuestImages.forUser(line -> err.println("panavisor: " + line));
            if (kernelPath == null) {
                kernelPath = images.kernel().bzImage();
            }
            if (needsRootfs) {
                initrdPath = images.rootfs().initramfs();
            }
        }
        return new MachineConfig(kernelPath, Optional.ofNullable(initrdPath), disks, cmdline, memory, cpus, console,
                Optional.ofNullable(exec), tty ? MachineConfig.CommandStdio.TTY : MachineConfig.CommandStdio.STREAMS,
                Optional.ofNullable(network), Optional.ofNullable(vsock));
    }

    /** {@code --net user} with the {@code --publish} forwards; a forward without it is a usage error. */
    static MachineConfig.Net withPublished(MachineConfig.Net net, List<MachineConfig.PortForward> publish) {
        if (publish.isEmpty()) {
            return net;
        }
        if (net == null || !(net.backend() instanceof MachineConfig.UserNetwork)) {
            throw new UsageException("--publish needs --net user (a TAP's traffic is the host's to route)");
        }
        java.util.Set<Integer> hostPorts = new java.util.HashSet<>();
        for (MachineConfig.PortForward forward : publish) {
            if (!hostPorts.add(forward.host())) {
                throw new UsageException("--publish forwards host port " + forward.host() + " twice");
            }
        }
        return new MachineConfig.Net(new MachineConfig.UserNetwork(publish), net.mac());
    }

    /**
     * The exit status when the command's output could not be written, whatever the guest's status: a reader that
     * went away (EPIPE: {@code | head -1}) is 141 and no line, as for a shell command killed by SIGPIPE; any other
     * error (a full disk, a closed descriptor) loses output, which is one line and status 1, never 0.
     */
    static int outputLost(IOException error, PrintWriter err) {
        if ("Broken pipe".equals(error.getMessage())) {
            return ExitCodes.BROKEN_PIPE;
        }
        err.println("panavisor: the command's output could not be written: " + error.getMessage());
        return ExitCodes.ERROR;
    }

    /**
     * Links {@link #exitCode}'s switch ahead of the run's end: a switch over types is an invokedynamic whose first call
     * generates a class (SwitchBootstraps), which cost every run 10-15 ms at its end in the nested lab
     * (docs/performance.md, "The VM's teardown"). Called on this thread while the guest boots, when it only waits.
     */
    static void linkExitCodeAhead() {
        try {
            exitCode(new Outcome.Stopped("linked ahead"), null, false, null);
        } catch (LinkageError e) {
            // The run's own call at its end fails the same way, and reports it as its one line.
        }
    }

    /** The process exit status for how the VM ended; prints the one-line reason for anything but a clean end. */
    static int exitCode(Outcome outcome, Integer guestStatus, boolean commandMode, PrintWriter err) {
        return switch (outcome) {
            case Outcome.Stopped stopped -> {
                if (!commandMode) {
                    yield ExitCodes.OK;
                }
                if (guestStatus == null) {
                    err.println("panavisor: the guest ended (" + stopped.how() + ") without reporting the "
                            + "command's exit status; is its /init Panavisor's (guest-images/init)?");
                    yield ExitCodes.ERROR;
                }
                yield guestStatus;
            }
            case Outcome.StoppedByHost host -> {
                if (commandMode) {
                    err.println("panavisor: stopped before the command finished: " + host.why());
                    yield ExitCodes.ERROR;
                }
                yield ExitCodes.OK;
            }
            case Outcome.GuestPanic panic -> {
                err.println("panavisor: guest kernel panic: " + panic.message());
                yield GUEST_PANIC;
            }
            case Outcome.Stalled stalled -> {
                err.println("panavisor: the guest made no progress: " + stalled.what() + "; stopped it "
                        + "(--stall-limit sets how long to wait, 0 never stops)");
                yield GUEST_STALLED;
            }
            case Outcome.GuestCrash crash -> {
                err.println("panavisor: guest crashed: " + crash.reason());
                yield GUEST_CRASH;
            }
        };
    }

    /** A duration as the lab's options take it (90s, 5m), or 0 (with or without a unit) for "never". */
    static final class StallLimitConverter implements picocli.CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            if (value.strip().matches("0+(ms|s|m|h)?")) {
                return Duration.ZERO;
            }
            return new LabCommand.DurationConverter().convert(value);
        }
    }
}
