package dev.panavisor.cli;

import dev.panavisor.compare.Charts;
import dev.panavisor.compare.CompareRun;
import dev.panavisor.compare.ComparisonTable;
import dev.panavisor.compare.CsvExport;
import dev.panavisor.compare.MarkdownReport;
import dev.panavisor.compare.Peer;
import dev.panavisor.compare.PeerInstaller;
import dev.panavisor.compare.Results;
import dev.panavisor.compare.ResultsJson;
import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.IoErrors;
import dev.panavisor.image.GuestImages;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import dev.panavisor.lab.LinuxGuests;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panavisor bench compare}: Panavisor's microVM, QEMU's microvm, runc, crun, bubblewrap, podman and the
 * host's own fork/exec, measured side by side in one run on the same busybox root file system (docs/benchmarks.md).
 * Where /dev/kvm cannot boot Linux, the whole measurement (containers included) runs inside one nested lab session,
 * so every peer pays the same emulated CPU; the host then draws the report from the results.json the lab wrote.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"MicroVMs vs containers, measured in one run: size, start time (p50/p90/p99, serial and K in "
                + "parallel), memory and idle CPU per instance, density, isolation facts, sequential and 4 KiB "
                + "random I/O, CPU, and network throughput over each peer's usual link (TAP, veth) vs the host.",
                "Writes report.md (the comparison table first), results.csv, results.json and charts/*.png. "
                        + "Needs gcc with a static C library (io-load, the random I/O program, is built first)."})
final class BenchCompareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--quick", description = "Few runs, small density (2 runs, 2 in parallel, 2 idle instances): "
            + "a complete report in a few minutes, for CI.")
    boolean quick;

    @Option(names = "--runs", paramLabel = "N", description = "Start runs per peer, serial and parallel "
            + "(default: 10; --quick: 2).")
    Integer runs;

    @Option(names = "--parallel", paramLabel = "K", description = "Instances started at once (default: 4; "
            + "--quick: 2).")
    Integer parallel;

    @Option(names = "--out", paramLabel = "DIR", description = "Where the report goes (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("bench-compare");

    @Option(names = "--only", paramLabel = "LIST", description = "Comma-separated peers to measure (the host floor "
            + "always runs): host, panavisor, qemu, runc, crun, bwrap, podman (default: all).")
    String only;

    /** Set by the outer run for the run inside the lab (or used directly): measure only, write results.json. */
    @Option(names = "--measure-only", hidden = true)
    boolean measureOnly;

    @Option(names = "--kernel", hidden = true)
    Path kernel;

    @Option(names = "--initrd", hidden = true)
    Path initrd;

    @Option(names = "--rootfs-image", hidden = true)
    Path rootfsImage;

    /** io-load, built by the outer run (gcc inside the lab would run on the emulated CPU). */
    @Option(names = "--io-load", hidden = true)
    Path ioLoad;

    /** Where Linux guests run here (a stand-in in tests). */
    Supplier<LinuxGuests> guests = LinuxGuests::locate;

    /** Installs the peers that are missing and returns the report's notes on them (a stand-in in tests). */
    BiFunction<List<Peer>, Consumer<String>, List<String>> installer = PeerInstaller::installMissing;

    @Override
    public Integer call() {
        List<Peer> peers = peers();
        Results.Settings settings = settings();
        PrintWriter stdout = spec.commandLine().getOut();
        // Checked before anything is installed, built or measured, so a bad --out, or a host where Linux guests
        // cannot run, costs nothing. (The run inside the lab is on a host where they can.)
        Path dir = ReportDirectory.prepare("--out", out);
        LinuxGuests where = measureOnly ? null : guests.get();
        if (where != null && where.route() == LinuxGuests.Route.NONE) {
            throw new CommandFailedException(where.nowhereReason());
        }
        try (ExitCleanup cleanup = ExitCleanup.install()) {
            try {
                return buildAndRun(peers, settings, dir, where, stdout, cleanup);
            } catch (IOException e) {
                throw new CommandFailedException(ReportDirectory.oneLine(IoErrors.describe(e)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CommandFailedException(cleanup.exiting() ? "stopped: this process is exiting (Ctrl-C "
                        + "or SIGTERM); what it had started was removed, and results.json is as it was"
                        : "interrupted; results.json is as it was");
            }
        }
    }

    private int buildAndRun(List<Peer> peers, Results.Settings settings, Path dir, LinuxGuests where,
            PrintWriter stdout, ExitCleanup cleanup) throws IOException, InterruptedException {
        Path buildDir = null;
        try {
            if (ioLoad == null) {
                buildDir = cleanup.temporaryDirectory("pvcmp-io-");
                ioLoad = IoBenchFiles.buildLoadProgram(buildDir);
            }
            return measureAndReport(peers, settings, dir, where, stdout, cleanup);
        } finally {
            if (buildDir != null) {
                cleanup.delete(buildDir).ifPresent(line -> warn(stdout, line));
            }
        }
    }

    private int measureAndReport(List<Peer> peers, Results.Settings settings, Path dir, LinuxGuests where,
            PrintWriter stdout, ExitCleanup cleanup) throws IOException, InterruptedException {
        if (kernel == null || initrd == null || rootfsImage == null) {
            // The outer run names them for the run inside the lab; what is not named is the default guest's.
            GuestImages.GuestImage guest = GuestImages.forUser(line -> stdout.println("images: " + line)).guest();
            kernel = kernel != null ? kernel : guest.kernel().bzImage();
            initrd = initrd != null ? initrd : guest.rootfs().initramfs();
            rootfsImage = rootfsImage != null ? rootfsImage : guest.rootfs().ext4();
        }
        // Never deleted before the run: a run that fails or is stopped leaves the last results as they were.
        Path json = dir.resolve("results.json");
        if (measureOnly) {
            measure(peers, settings, json, stdout, cleanup);
            return ExitCodes.OK;
        }
        List<String> notes = new ArrayList<>(installer.apply(peers, line -> {
            stdout.println("compare: " + line);
            stdout.flush();
        }));
        switch (where.route()) {
            case LAB -> {
                stdout.println("(" + where.labNotice() + "; the containers run there too, so every peer pays the "
                        + "same emulated CPU)");
                stdout.flush();
                Object before = identity(json);
                int status = Lab.run(LabConfig.defaults().withWritable(dir), innerCommand(peers),
                        new FileOutputStream(FileDescriptor.out), new FileOutputStream(FileDescriptor.err));
                Object after = identity(json);
                if (status != 0 || after == null || after.equals(before)) {
                    throw new CommandFailedException("the measurement inside the nested lab failed (exit " + status
                            + "); its output is above");
                }
            }
            case DIRECT -> measure(peers, settings, json, stdout, cleanup);
            case NONE -> throw new CommandFailedException(where.nowhereReason());
        }
        Results results = ResultsJson.read(json);
        render(results, notes, dir);
        MarkdownReport.table(ComparisonTable.cells(results)).forEach(stdout::println);
        stdout.println("report: " + out.resolve("report.md"));
        stdout.flush();
        return ExitCodes.OK;
    }

    /**
     * Which file {@code file} is, or null when there is none: the run inside the lab writes results.json beside
     * the old one and renames it over it ({@link ResultsJson#write}), so a new results.json is a new file.
     */
    private static Object identity(Path file) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            return List.of(String.valueOf(attributes.fileKey()), attributes.lastModifiedTime());
        } catch (IOException e) {
            return null;
        }
    }

    private void measure(List<Peer> peers, Results.Settings settings, Path json, PrintWriter stdout,
            ExitCleanup cleanup) throws IOException, InterruptedException {
        if (peers.contains(Peer.PANAVISOR)) {
            // Panavisor's instances start with the AOT cache, as users' do: record it first if this jar has none yet
            // (a jar built after the last recording has a stale one, and its instances would start without).
            AotTraining.ensure(LinuxGuests.Route.DIRECT, kernel, initrd, stdout);
        }
        Path work = cleanup.temporaryDirectory("pvcmp-");
        try {
            Results results = new CompareRun(new CompareRun.Images(kernel, initrd, rootfsImage, ioLoad), settings,
                    instanceCommand(), stdout, cleanup).run(peers, work);
            cleanup.checkNotExiting(); // what a stop cut short is no run's results
            ResultsJson.write(results, json);
        } finally {
            cleanup.delete(work).ifPresent(line -> warn(stdout, line));
        }
    }

    /** A line on the progress output for what was left behind: stderr keeps its one line for an error. */
    private static void warn(PrintWriter stdout, String line) {
        stdout.println("compare: warning: " + line);
        stdout.flush();
    }

    /** report.md, results.csv and the charts, from the results (results.json is already there). */
    static void render(Results results, List<String> notes, Path dir) throws IOException {
        MarkdownReport.write(results, notes, dir.resolve("report.md"));
        CsvExport.write(results, dir.resolve("results.csv"));
        Charts.write(results, dir.resolve("charts"));
    }

    private List<String> innerCommand(List<Peer> peers) {
        List<String> command = new ArrayList<>(selfCommand());
        command.addAll(List.of("bench", "compare", "--measure-only", "--out=" + out.toAbsolutePath(),
                "--kernel=" + kernel.toAbsolutePath(), "--initrd=" + initrd.toAbsolutePath(),
                "--rootfs-image=" + rootfsImage.toAbsolutePath(), "--io-load=" + ioLoad.toAbsolutePath(),
                "--only=" + String.join(",", peers.stream().map(p -> p.id).toList())));
        if (quick) {
            command.add("--quick");
        }
        if (runs != null) {
            command.add("--runs=" + runs);
        }
        if (parallel != null) {
            command.add("--parallel=" + parallel);
        }
        return command;
    }

    /**
     * The start of the command line of a measured Panavisor instance: this place's JVM options, the lab's where this
     * runs inside it and the host's on a hardware-KVM host ({@link #selfCommand()} is the command run inside the
     * lab), with the AOT cache when it is fresh.
     */
    static List<String> instanceCommand() {
        return JavaCommand.panavisor(Lab.insideLab());
    }

    /**
     * The start of a command line that runs this Panavisor again: {@link InLab#javaCommand()}, which runs the jar,
     * or this class path and main class when running from classes (the lab-tagged test runs it in-process).
     */
    static List<String> selfCommand() {
        return InLab.javaCommand();
    }

    List<Peer> peers() {
        if (only != null && only.isBlank()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--only needs at least one peer (known: "
                    + Peer.ids() + ")");
        }
        try {
            return Peer.parseList(only);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    Results.Settings settings() {
        int n = runs != null ? runs : quick ? 2 : 10;
        int k = parallel != null ? parallel : quick ? 2 : 4;
        if (n < 1 || n > 1000) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--runs must be from 1 to 1000, not " + n);
        }
        if (k < 1 || k > 64) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--parallel must be from 1 to 64, not " + k);
        }
        return quick
                ? new Results.Settings(true, n, k, 2, 1L << 30, 180_000, 3, 32, 2, 50_000, 256, 16)
                : new Results.Settings(false, n, k, 8, 2L << 30, 600_000, 10, 256, 5, 200_000, 256, 64);
    }
}
