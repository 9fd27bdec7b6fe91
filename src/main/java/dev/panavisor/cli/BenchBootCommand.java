package dev.panavisor.cli;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.IoErrors;
import dev.panavisor.host.ProcessTree;
import dev.panavisor.image.GuestImages;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.lab.RecycledCodePages;
import dev.panavisor.vmm.MachineConfig;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panavisor bench boot}: Panavisor against QEMU's microvm machine booting the same kernel and initramfs,
 * alternating round by round in one run. Two numbers each:
 * <ul>
 *   <li><b>boot</b>: VMM process start to the guest init's boot marker (port 0x440). Panavisor reports it itself
 *       ({@code --boot-time}); QEMU gets an {@code isa-debug-exit} device on that port, so QEMU exits at the marker
 *       and its wall time is the boot time.</li>
 *   <li><b>end to end</b>: wall time of a whole {@code --exec true} run: start, boot, run the command, reboot,
 *       exit.</li>
 * </ul>
 * Where /dev/kvm cannot boot Linux, the whole benchmark runs inside one nested lab session, so both VMMs see the
 * same (emulated) hardware.
 */
@Command(name = "boot", mixinStandardHelpOptions = true,
        description = {"Boot time and end-to-end '--exec true' time of Panavisor and QEMU microvm, same kernel "
                + "and initramfs, alternating. Reports medians and the Panavisor/QEMU ratios (< 1: Panavisor faster).",
                "Inside the nested lab, 384 MiB of its free memory is cleared before each run, untimed "
                + "(docs/performance.md, \"The lab's memory stall, explained\")."})
final class BenchBootCommand implements Callable<Integer> {
    private static final Pattern BOOT_TIME = Pattern.compile("boot time ([0-9.]+) ms");
    private static final Pattern BANNER = Pattern.compile("panavisor-init: booted in ([0-9.]+) s");
    private static final String EXEC_TRUE = "dHJ1ZQ=="; // base64("true") for the guest init's command mode
    private static final String EXEC_SLEEP = "c2xlZXAgMQ=="; // base64("sleep 1")
    private static final String QUIET = "quiet";
    /** What Panavisor's --timeline adds: the kernel log with its clock, down to KERN_INFO. */
    private static final String VERBOSE = "printk.time=1 loglevel=7";
    static final long GUEST_BYTES = 256L << 20;
    /** What one VMM run may take, a boot that runs a command (seconds on KVM, under a minute in the lab). */
    private static final Duration RUN_TIME_LIMIT = Duration.ofMinutes(3);
    /** A line of Panavisor's --timeline report: "panavisor: timeline   2456.8 ms  JVM up (main entered)". */
    private static final Pattern TIMELINE_LINE =
            Pattern.compile("(?m)^panavisor: timeline\\s+([0-9.]+) ms  (.+?)(?: \\(guest clock .*)?$");

    @Spec
    CommandSpec spec;

    @Option(names = "--rounds", paramLabel = "N",
            description = "Rounds of each measurement (default: ${DEFAULT-VALUE}).")
    int rounds = 5;

    @Option(names = "--warm", description = {"Measure warm starts instead: from 'start the VM' to the init's banner "
            + "with the VMM process already up and configured. Panavisor: serve's InstanceStart request; QEMU: "
            + "QMP 'cont' after -S (docs/performance.md, \"Warm start\")."})
    boolean warm;

    @Option(names = "--kernel", paramLabel = "FILE", description = "Kernel (default: the default guest's bzImage).")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE", description = "Initramfs (default: the default guest's).")
    Path initrd;

    @Override
    public Integer call() {
        if (rounds < 1) {
            throw new UsageException("--rounds must be positive");
        }
        try {
            return benchmark(spec.commandLine().getOut());
        } catch (RunFailedException e) {
            e.printTail(spec.commandLine().getErr());
            throw e;
        } catch (IOException e) { // a temporary file or a socket: the host's trouble, not a bug
            throw new CommandFailedException("bench boot: " + IoErrors.describe(e));
        } catch (InterruptedException e) {
            throw stopped(e);
        }
    }

    /**
     * A benchmark that was interrupted: in practice by the JVM's exit (Ctrl-C, SIGTERM), whose {@link ExitCleanup}
     * then refuses to start another run. One line, as every failure of {@code bench boot} and {@code bench io}: an
     * {@link InterruptedException} out of a command would be reported as an internal error.
     */
    static CommandFailedException stopped(InterruptedException e) {
        Thread.currentThread().interrupt();
        return new CommandFailedException(ExitCleanup.EXITING.equals(e.getMessage()) ? ExitCleanup.EXITING
                : "stopped: interrupted");
    }

    /**
     * Checks that {@code kernel} and {@code initrd} can boot, as {@code run} does, so that a bad one is one line
     * before anything slow (an image build, a lab boot); inside the lab the outer run has checked them.
     */
    static void checkBootFiles(Path kernel, Path initrd) {
        if (!Lab.insideLab()) {
            MachineConfig.checkFiles(new MachineConfig(kernel, java.util.Optional.of(initrd), List.of(), "",
                    GUEST_BYTES, 1, MachineConfig.ConsoleKind.SERIAL, java.util.Optional.empty()));
        }
    }

    private int benchmark(PrintWriter out) throws IOException, InterruptedException {
        if (kernel == null || initrd == null) {
            GuestImages images = GuestImages.forUser(line -> out.println("images: " + line));
            kernel = kernel == null ? images.kernel().bzImage() : kernel;
            initrd = initrd == null ? images.rootfs().initramfs() : initrd;
        }
        checkBootFiles(kernel, initrd);
        LinuxGuests where = LinuxGuests.locate();
        if (where.route() == LinuxGuests.Route.LAB) {
            out.println("(" + where.labNotice() + ")");
            out.flush();
            List<String> command = new ArrayList<>(InLab.javaCommand());
            command.addAll(List.of("bench", "boot", "--rounds=" + rounds, "--kernel=" + kernel.toAbsolutePath(),
                    "--initrd=" + initrd.toAbsolutePath()));
            if (warm) {
                command.add("--warm");
            }
            return Lab.run(LabConfig.defaults(), command, new FileOutputStream(FileDescriptor.out),
                    new FileOutputStream(FileDescriptor.err));
        }
        if (where.route() == LinuxGuests.Route.NONE) {
            throw new CommandFailedException(where.nowhereReason());
        }
        return warm ? measureWarm(out) : measure(out);
    }

    private int measureWarm(PrintWriter out) throws IOException, InterruptedException {
        AotTraining.ensure(LinuxGuests.Route.DIRECT, kernel, initrd, out);
        List<WarmStartBench.Start> panavisor = new ArrayList<>();
        List<WarmStartBench.Start> qemu = new ArrayList<>();
        RecycledCodePages clearing = new RecycledCodePages(GUEST_BYTES, Lab.insideLab());
        out.printf("%-6s %26s %26s%n", "round", "panavisor InstanceStart", "qemu cont");
        out.printf("%-6s %26s %26s%n", "", "(of which the guest's)", "(of which the guest's)");
        for (int round = 1; round <= rounds; round++) {
            out.printf("round %d of %d: panavisor (serve, then InstanceStart)...%n", round, rounds);
            out.flush();
            panavisor.add(WarmStartBench.panavisor(JavaCommand.panavisor(Lab.insideLab()), kernel, initrd,
                    EXEC_TRUE, clearing));
            out.printf("round %d of %d: qemu (-S, then QMP cont)...%n", round, rounds);
            out.flush();
            qemu.add(WarmStartBench.qemu(qemu(false, QUIET, EXEC_TRUE), clearing));
            out.printf("%-6d %12.0f ms (%6.0f ms) %12.0f ms (%6.0f ms)%n", round, panavisor.getLast().totalMs(),
                    panavisor.getLast().guestMs(), qemu.getLast().totalMs(), qemu.getLast().guestMs());
            out.flush();
        }
        double p = median(panavisor.stream().map(WarmStartBench.Start::totalMs).toList());
        double q = median(qemu.stream().map(WarmStartBench.Start::totalMs).toList());
        out.printf("median before the guest's clock (start request to the kernel's start, decompression included): "
                + "panavisor %.0f ms, qemu %.0f ms%n",
                median(panavisor.stream().map(WarmStartBench.Start::beforeGuestMs).toList()),
                median(qemu.stream().map(WarmStartBench.Start::beforeGuestMs).toList()));
        out.printf("median guest time (the kernel's start to the init's banner): panavisor %.0f ms, qemu %.0f ms%n",
                median(panavisor.stream().map(WarmStartBench.Start::guestMs).toList()),
                median(qemu.stream().map(WarmStartBench.Start::guestMs).toList()));
        out.printf("median warm start (start request to the init's banner): panavisor %.0f ms, qemu %.0f ms, "
                + "ratio %.2f%n", p, q, p / q);
        // As for cold boots (report): the fastest round beside the medians.
        double fastP = min(panavisor.stream().map(WarmStartBench.Start::totalMs).toList());
        double fastQ = min(qemu.stream().map(WarmStartBench.Start::totalMs).toList());
        out.printf("fastest of %d rounds: warm start panavisor %.0f ms, qemu %.0f ms, ratio %.2f%n", rounds, fastP,
                fastQ, fastP / fastQ);
        clearing.summary().ifPresent(out::println);
        out.flush();
        return ExitCodes.OK;
    }

    private int measure(PrintWriter out) throws IOException, InterruptedException {
        // The measured JVMs start with the AOT cache, as users' do: record it first if this jar has none yet.
        AotTraining.ensure(LinuxGuests.Route.DIRECT, kernel, initrd, out);
        Samples panavisor = new Samples();
        Samples qemu = new Samples();
        RecycledCodePages clearing = new RecycledCodePages(GUEST_BYTES, Lab.insideLab());
        out.printf("%-6s %16s %16s %16s %16s%n", "round", "panavisor boot", "qemu boot", "panavisor e2e", "qemu e2e");
        for (int round = 1; round <= rounds; round++) {
            out.printf("round %d of %d: panavisor...%n", round, rounds);
            out.flush();
            clearing.clearBeforeRun();
            Timed timed = time(panavisorRun(), 0);
            Matcher boot = BOOT_TIME.matcher(timed.output());
            if (!boot.find()) {
                throw new RunFailedException("panavisor", "panavisor run reported no boot time", timed.output());
            }
            panavisor.boot.add(Double.parseDouble(boot.group(1)));
            panavisor.total.add(timed.millis());
            panavisor.addUptime(timed.output());
            // isa-debug-exit ends QEMU with (value << 1) | 1 = 247 when the init writes 123 to port 0x440.
            out.printf("round %d of %d: qemu...%n", round, rounds);
            out.flush();
            clearing.clearBeforeRun();
            qemu.boot.add(time(qemu(true, QUIET, EXEC_TRUE), 247).millis());
            clearing.clearBeforeRun();
            Timed qemuRun = time(qemu(false, QUIET, EXEC_TRUE), 0);
            qemu.total.add(qemuRun.millis());
            qemu.addUptime(qemuRun.output());
            out.printf("%-6d %13.0f ms %13.0f ms %13.0f ms %13.0f ms%n", round, panavisor.boot.getLast(),
                    qemu.boot.getLast(), panavisor.total.getLast(), qemu.total.getLast());
            out.printf("round %d of %d: phases and memory (kernel log on the console, guest up for a second)...%n",
                    round, rounds);
            out.flush();
            clearing.clearBeforeRun();
            panavisor.add(WatchedBoot.run(panavisorWatched(), 0, GUEST_BYTES, RUN_TIME_LIMIT));
            clearing.clearBeforeRun();
            qemu.add(WatchedBoot.run(qemu(false, VERBOSE, EXEC_SLEEP), 0, GUEST_BYTES, RUN_TIME_LIMIT));
            out.printf("       guest clock at /init: panavisor %.3f s, qemu %.3f s (quiet boots' banner: %.2f s, "
                    + "%.2f s); VMM overhead: panavisor %.1f MiB (%.1f MiB anonymous), qemu %.1f MiB (%.1f MiB "
                    + "anonymous)%n",
                    panavisor.guestInit.getLast(), qemu.guestInit.getLast(), panavisor.uptime.getLast(),
                    qemu.uptime.getLast(), panavisor.overhead.getLast(), panavisor.anonymous.getLast(),
                    qemu.overhead.getLast(), qemu.anonymous.getLast());
            out.flush();
        }
        report(out, panavisor, qemu);
        clearing.summary().ifPresent(out::println);
        out.flush();
        return ExitCodes.OK;
    }

    static void report(PrintWriter out, Samples panavisor, Samples qemu) {
        out.println();
        out.println("phases, median ms from VMM process start (runs with the kernel log on the console):");
        out.printf("  %-44s %10s %10s%n", "", "panavisor", "qemu");
        out.printf("  %-44s %10.0f %10.0f%n", "guest kernel's first console line", median(panavisor.firstLine),
                median(qemu.firstLine));
        out.printf("  %-44s %10.0f %10.0f%n", "guest kernel runs /init", median(panavisor.runsInit),
                median(qemu.runsInit));
        out.printf("  %-44s %10.0f %10.0f%n", "init's banner (booted)", median(panavisor.booted),
                median(qemu.booted));
        out.printf("  %-44s %10.0f %10.0f%n", "guest clock at /init (kernel's own, ms)",
                median(panavisor.guestInit) * 1000, median(qemu.guestInit) * 1000);
        out.println("Panavisor's own timeline in those runs (run --timeline), median ms from process start:");
        panavisor.timeline.forEach((phase, values) -> out.printf("  %-44s %10.0f%n", phase, median(values)));
        out.println();
        out.printf("median boot (VMM start to /init): panavisor %.0f ms, qemu %.0f ms, ratio %.2f%n",
                median(panavisor.boot), median(qemu.boot), median(panavisor.boot) / median(qemu.boot));
        out.printf("median end to end (--exec true): panavisor %.0f ms, qemu %.0f ms, ratio %.2f%n",
                median(panavisor.total), median(qemu.total), median(panavisor.total) / median(qemu.total));
        out.printf("median guest time from the kernel's start to the init's banner (quiet boots, the guest's uptime): "
                + "panavisor %.0f ms, qemu %.0f ms, ratio %.2f%n", median(panavisor.uptime) * 1000,
                median(qemu.uptime) * 1000, median(panavisor.uptime) / median(qemu.uptime));
        out.printf("median guest time from the kernel's start to /init (kernel log on the console, printk clock): "
                + "panavisor %.0f ms, qemu %.0f ms, ratio %.2f%n", median(panavisor.guestInit) * 1000,
                median(qemu.guestInit) * 1000, median(panavisor.guestInit) / median(qemu.guestInit));
        out.printf("median VMM overhead: panavisor %.1f MiB, qemu %.1f MiB%n", median(panavisor.overhead),
                median(qemu.overhead));
        // The part of it no file holds: what the page cache cannot share between VMMs or reclaim (Smaps.Overhead).
        out.printf("median VMM overhead in anonymous pages: panavisor %.1f MiB, qemu %.1f MiB%n",
                median(panavisor.anonymous), median(qemu.anonymous));
        // The fastest round of each, beside the medians: before the lab's memory stall was cleared away before
        // each run (RecycledCodePages), about half the boots of either VMM stalled once for ~0.8 s, and this line
        // gave the pace without it; kept, so runs stay comparable with those before.
        out.printf("fastest of %d rounds: boot panavisor %.0f ms, qemu %.0f ms, ratio %.2f; guest time to the "
                + "banner (quiet boots) panavisor %.0f ms, qemu %.0f ms, ratio %.2f%n", panavisor.boot.size(),
                min(panavisor.boot), min(qemu.boot), min(panavisor.boot) / min(qemu.boot),
                min(panavisor.uptime) * 1000, min(qemu.uptime) * 1000, min(panavisor.uptime) / min(qemu.uptime));
        out.flush();
    }

    private static double min(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    private static double median(List<Double> values) {
        return BenchCommand.Exits.median(values);
    }

    /** One VMM's measurements, a value per round each. */
    static final class Samples {
        final List<Double> boot = new ArrayList<>();
        final List<Double> total = new ArrayList<>();
        final List<Double> firstLine = new ArrayList<>();
        final List<Double> runsInit = new ArrayList<>();
        final List<Double> booted = new ArrayList<>();
        final List<Double> guestInit = new ArrayList<>();
        final List<Double> uptime = new ArrayList<>();
        final List<Double> overhead = new ArrayList<>();
        final List<Double> anonymous = new ArrayList<>();
        final java.util.Map<String, List<Double>> timeline = new java.util.LinkedHashMap<>();

        /** The init's banner gives the guest's uptime when it got there: "panavisor-init: booted in 1.23 s". */
        void addUptime(String output) {
            Matcher banner = BANNER.matcher(output);
            if (!banner.find()) {
                throw new RunFailedException("the VMM", "no init banner in the VMM's output", output);
            }
            uptime.add(Double.parseDouble(banner.group(1)));
        }

        void add(WatchedBoot run) {
            Matcher line = TIMELINE_LINE.matcher(run.output());
            while (line.find()) {
                timeline.computeIfAbsent(line.group(2), k -> new ArrayList<>()).add(Double.parseDouble(line.group(1)));
            }
            firstLine.add(run.firstLineMillis());
            runsInit.add(run.runsInitMillis());
            booted.add(run.bootedMillis());
            guestInit.add(run.guestRunsInitSeconds());
            overhead.add(run.overhead().vmmRss() / (1024.0 * 1024.0));
            anonymous.add(run.overhead().vmmAnonymous() / (1024.0 * 1024.0));
        }
    }

    /**
     * A quiet boot that runs {@code true}. {@code --show-console}: the init's banner (the guest's uptime) is part of
     * the console, which {@code --exec} keeps off stdout unless asked (issue 13's exact output); without it this
     * benchmark found no banner and stopped at its first round.
     */
    List<String> panavisorRun() {
        List<String> command = new ArrayList<>(JavaCommand.panavisor(Lab.insideLab()));
        command.addAll(List.of("run", "--kernel=" + kernel, "--initrd=" + initrd, "--exec=true", "--boot-time",
                "--show-console"));
        return command;
    }

    /**
     * A run with the kernel log on the console (--timeline adds printk.time=1 loglevel=7) and the guest up 1 s; the
     * console shown ({@code --show-console}), since the phases are read from it.
     */
    List<String> panavisorWatched() {
        List<String> command = new ArrayList<>(JavaCommand.panavisor(Lab.insideLab()));
        command.addAll(List.of("run", "--kernel=" + kernel, "--initrd=" + initrd, "--exec=sleep 1", "--timeline",
                "--show-console"));
        return command;
    }

    /**
     * QEMU's microvm with what Panavisor gives a guest: 256 MiB, 1 vCPU, serial console, the same parameters, except
     * the reset method: microvm has no i8042, so the guest reboots by triple fault ({@code reboot=t}), which QEMU
     * turns into its exit with {@code -no-reboot}; and except the words only Panavisor's guest needs (the i8042 and
     * 8250 words, its virtio-mmio devices, its ports console: KernelCommandLine). ({@code -cpu max}: {@code -cpu
     * host} did not get past the kernel's start inside the nested lab.)
     */
    private List<String> qemu(boolean stopAtBootMarker, String logLevel, String exec) {
        List<String> command = new ArrayList<>(List.of("qemu-system-x86_64", "-M", "microvm,acpi=off",
                "-accel", "kvm", "-cpu", "max", "-m", "256", "-smp", "1", "-nographic", "-no-reboot",
                "-no-user-config", "-kernel", kernel.toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0 reboot=t panic=-1 " + logLevel + " panavisor.exec=" + exec));
        if (stopAtBootMarker) {
            command.addAll(List.of("-device", "isa-debug-exit,iobase=0x440,iosize=1"));
        }
        return command;
    }

    record Timed(double millis, String output) {
    }

    private static Timed time(List<String> command, int expectedStatus) throws IOException, InterruptedException {
        return time(command, expectedStatus, RUN_TIME_LIMIT);
    }

    /**
     * Runs a VMM to its end with stdin on /dev/null and its output (stdout and stderr together) collected in a
     * temporary file; shared with {@code bench io}. A command that cannot start, runs longer than {@code timeLimit}
     * (then stopped, with all it started) or ends with another status is one clear error. The process and the file
     * are gone when this returns, also when a termination signal ends the benchmark meanwhile.
     */
    static Timed time(List<String> command, int expectedStatus, Duration timeLimit)
            throws IOException, InterruptedException {
        String program = RunFailedException.programName(command);
        try (ExitCleanup cleanup = ExitCleanup.install()) {
            Path log = cleanup.temporaryFile("panavisor-bench-", ".log");
            long start = System.nanoTime();
            Process process;
            try {
                process = cleanup.start(new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))));
            } catch (IOException e) {
                throw new CommandFailedException("cannot start " + command.getFirst() + ": " + e.getMessage());
            }
            boolean ended = process.waitFor(timeLimit.toNanos(), TimeUnit.NANOSECONDS);
            cleanup.checkNotExiting(); // Ctrl-C or SIGTERM ended the run: this process is exiting, not a failed VM
            if (!ended) {
                ProcessTree.stop(process);
                throw new RunFailedException(program, program + " did not end within " + timeLimit.toSeconds()
                        + " s and was stopped", Files.readString(log, StandardCharsets.ISO_8859_1));
            }
            double millis = (System.nanoTime() - start) / 1e6;
            String output = Files.readString(log, StandardCharsets.ISO_8859_1);
            if (process.exitValue() != expectedStatus) {
                throw new RunFailedException(program, program + " exited with " + process.exitValue()
                        + " (expected " + expectedStatus + ")", output);
            }
            return new Timed(millis, output);
        }
    }
}
