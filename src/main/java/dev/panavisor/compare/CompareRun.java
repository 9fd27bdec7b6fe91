package dev.panavisor.compare;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.image.BenchDisk;
import dev.panavisor.image.InitramfsWithProgram;
import dev.panavisor.lab.Lab;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The measuring half of {@code bench compare}: on a machine whose /dev/kvm boots Linux (hardware KVM, or L1 inside
 * the nested lab), every peer in turn, with a progress line per step. A peer that is missing or fails is recorded
 * with the reason and the run goes on with the next.
 *
 * <p>Per peer: {@code runs} serial starts of the TRUE workload, then the same number in batches of {@code parallel}
 * at once (the NSDI'20 Firecracker paper's serial and parallel start measurements), the idle instances of the
 * resources and density rows ({@link IdleInstances}), and one run of the WORK workload.
 */
public final class CompareRun {
    private static final Pattern PANAVISOR_BOOT = Pattern.compile("boot time ([0-9.]+) ms");
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(5);

    /**
     * The guest images the peers share: kernel and initramfs for the VMs, the ext4 image the containers' root comes
     * from, and the static io-load program ({@code tools/bench/io-load.c}) for the random I/O rows.
     */
    public record Images(Path kernel, Path initrd, Path rootfsImage, Path ioLoad) {
    }

    private final Images images;
    private final Results.Settings settings;
    private final List<String> javaCommand;
    private final PrintWriter progress;
    private final ExitCleanup cleanup;

    /** {@code cleanup} undoes what the run makes should the JVM be stopped before the run undoes it. */
    public CompareRun(Images images, Results.Settings settings, List<String> javaCommand, PrintWriter progress,
            ExitCleanup cleanup) {
        this.images = images;
        this.settings = settings;
        this.javaCommand = List.copyOf(javaCommand);
        this.progress = progress;
        this.cleanup = cleanup;
    }

    public Results run(List<Peer> peers, Path work) throws IOException, InterruptedException {
        String started = Instant.now().toString();
        String where = Lab.insideLab()
                ? "inside the nested lab (L1: Linux " + System.getProperty("os.version") + " under QEMU TCG, kvm_amd)"
                : "on this host (Linux " + System.getProperty("os.version") + ", hardware KVM)";
        if (Lab.insideLab()) {
            LabMounts.prepare(progress);
        }
        Path rootfs = RootfsDirectory.extract(images.rootfsImage(), work.resolve("rootfs"));
        Path scratch = Files.createDirectories(work.resolve("scratch"));
        Path disk = work.resolve("disk.img");
        BenchDisk.create(disk, settings.ioMiB() + 1); // no holes: the first VM to write would pay for each page
        // io-load: in the scratch directory for the containers and the host floor, in the VMs' initramfs for the
        // VMs. Neither is in what the size row measures (the guest's own initramfs and root file system).
        Path load = Files.copy(images.ioLoad(), scratch.resolve(Launcher.LOAD_PROGRAM));
        load.toFile().setExecutable(true, false);
        Path vmInitrd = InitramfsWithProgram.write(images.initrd(), Launcher.VM_LOAD_PROGRAM, images.ioLoad(),
                work.resolve("initramfs-with-io-load.cpio.gz"));
        List<Results.PeerResult> results = new ArrayList<>();
        try (NetworkLinks network = NetworkLinks.setUp(RootfsDirectory.busybox(rootfs), work, settings.netMiB(),
                progress, cleanup)) {
            Launcher launcher = new Launcher(new Launcher.Setup(javaCommand, images.kernel(), images.initrd(),
                    vmInitrd, rootfs, Launcher.hostBin(rootfs, work.resolve("host-bin")), work, scratch, disk,
                    settings.guestMiB(), settings.ioMiB(), settings.randomSeconds(), settings.cpuLoops(), network,
                    settings.netMiB()));
            for (int i = 0; i < peers.size(); i++) {
                Peer peer = peers.get(i);
                String prefix = "[" + (i + 1) + "/" + peers.size() + "]";
                results.add(measure(peer, launcher, rootfs, prefix));
            }
            String links = network.ready() ? "HTTP over the instance's link: VMs, virtio-net on a TAP; containers, "
                    + "a veth into their network namespace; host, its own address (loopback); " + settings.netMiB()
                    + " MiB each way" : "not measured: " + network.why();
            return new Results(where, System.getProperty("os.version"), started, settings, links, results);
        }
    }

    private Results.PeerResult measure(Peer peer, Launcher launcher, Path rootfs, String prefix)
            throws InterruptedException {
        String missing = peer.programs.stream().filter(p -> Sizes.onPath(p) == null).findFirst().orElse(null);
        if (missing != null) {
            String why = missing + " is not installed (Debian package " + peer.debianPackage + ")";
            say("%s %s: skipped: %s", prefix, peer.id, why);
            return Results.PeerResult.skipped(peer, why);
        }
        try {
            Results.Start start = startRows(peer, launcher, prefix);
            IdleInstances.Measured idle = IdleInstances.measure(peer, launcher::launch, settings, progress, prefix,
                    cleanup);
            say("%s %s: I/O and CPU workload", prefix, peer.id);
            String output;
            try (StartedInstance work = StartedInstance.start(launcher.launch(peer, Workload.Kind.WORK, "io-" + peer.id,
                    false), "io-" + peer.id, cleanup, warnings(peer, prefix))) {
                work.instance().awaitExit(RUN_TIMEOUT);
                output = work.instance().output();
            }
            Results.Workload workload = Workload.parse(output, settings.ioMiB(), settings.netMiB());
            say("%s %s: done (start p50 %.0f ms, %.1f MiB per idle instance)", prefix, peer.id,
                    Stats.median(start.toWorkload()), idle.memory().overheadBytes() / 1048576);
            return new Results.PeerResult(peer.id, true, "", route(peer), size(peer, rootfs), start, idle.memory(),
                    idle.density(), workload);
        } catch (IOException | RuntimeException e) {
            String why = "failed: " + e.getMessage();
            say("%s %s: %s", prefix, peer.id, why);
            return Results.PeerResult.skipped(peer, why);
        }
    }

    private Results.Start startRows(Peer peer, Launcher launcher, String prefix)
            throws IOException, InterruptedException {
        List<Double> toWorkload = new ArrayList<>();
        List<Double> endToEnd = new ArrayList<>();
        for (int run = 1; run <= settings.runs(); run++) {
            say("%s %s: start, serial, run %d of %d", prefix, peer.id, run, settings.runs());
            try (StartedInstance instance = startTrue(peer, launcher, "serial-" + run, prefix)) {
                record(peer, instance.instance(), toWorkload, endToEnd);
            }
        }
        List<Double> toWorkloadParallel = new ArrayList<>();
        List<Double> endToEndParallel = new ArrayList<>();
        List<Double> throughputs = new ArrayList<>();
        int batches = Math.max(1, (settings.runs() + settings.parallel() - 1) / settings.parallel());
        for (int batch = 1; batch <= batches; batch++) {
            say("%s %s: start, %d in parallel, batch %d of %d", prefix, peer.id, settings.parallel(), batch, batches);
            int b = batch;
            throughputs.add(parallelBatch(peer, settings.parallel(),
                    k -> startTrue(peer, launcher, "parallel-" + b + "-" + k, prefix),
                    toWorkloadParallel, endToEndParallel));
        }
        return new Results.Start(toWorkload, endToEnd, toWorkloadParallel, endToEndParallel, Stats.mean(throughputs));
    }

    /** Starts the {@code k}th instance of a batch. */
    @FunctionalInterface
    interface Starter {
        StartedInstance start(int k) throws IOException, InterruptedException;
    }

    /**
     * One batch of the parallel start rows: {@code parallel} instances started at once, then each awaited and
     * recorded; returns the batch's instances per second. Whatever ends it (a run that failed, one that could not
     * start) every instance of the batch is stopped before it returns: the ones not yet awaited are killed and
     * their containers removed, not left running.
     */
    static double parallelBatch(Peer peer, int parallel, Starter starter, List<Double> toWorkload,
            List<Double> endToEnd) throws IOException, InterruptedException {
        List<StartedInstance> instances = new ArrayList<>();
        try {
            long begin = System.nanoTime();
            for (int k = 1; k <= parallel; k++) {
                instances.add(starter.start(k));
            }
            for (StartedInstance instance : instances) {
                record(peer, instance.instance(), toWorkload, endToEnd);
            }
            return instances.size() / ((System.nanoTime() - begin) / 1e9);
        } finally {
            instances.forEach(StartedInstance::close);
        }
    }

    private StartedInstance startTrue(Peer peer, Launcher launcher, String run, String prefix)
            throws IOException, InterruptedException {
        String name = "pvcmp-" + peer.id + "-" + run + "-" + ProcessHandle.current().pid();
        return StartedInstance.start(launcher.launch(peer, Workload.Kind.TRUE, name, false), name, cleanup,
                warnings(peer, prefix));
    }

    /** Where a stopped instance's leftovers are named: the progress output, under the peer's step. */
    private java.util.function.Consumer<String> warnings(Peer peer, String prefix) {
        return line -> say("%s %s: %s", prefix, peer.id, line);
    }

    /** Waits for the end of a TRUE run and records its two times; a failed run fails the peer. */
    private static void record(Peer peer, Instance instance, List<Double> toWorkload, List<Double> endToEnd)
            throws InterruptedException, IOException {
        int status = instance.awaitExit(RUN_TIMEOUT);
        if (status != 0) {
            throw new IOException("a run of 'true' ended with status " + status + ": "
                    + IdleInstances.lastLine(instance.output()));
        }
        double ready = instance.readyMillis();
        if (peer == Peer.PANAVISOR) {
            // Panavisor times its boot marker itself, from the JVM process's start (run --boot-time).
            Matcher boot = PANAVISOR_BOOT.matcher(instance.output());
            ready = boot.find() ? Double.parseDouble(boot.group(1)) : ready;
        }
        if (Double.isNaN(ready)) {
            throw new IOException("a run of 'true' never showed its start marker: "
                    + IdleInstances.lastLine(instance.output()));
        }
        toWorkload.add(ready);
        endToEnd.add(instance.endMillis());
    }

    private String route(Peer peer) {
        String machine = Lab.insideLab() ? "L1" : "host";
        return switch (peer.kind) {
            case HOST -> "fork/exec on the " + machine + " kernel";
            case VM -> "own guest kernel on /dev/kvm ("
                    + (Lab.insideLab() ? "kvm_amd in L1, nested" : "hardware") + ")";
            case CONTAINER -> "namespaces on the " + machine + " kernel";
        };
    }

    /** What a peer needs on disk: its image, and the runtime that runs it (package-visible for a test). */
    Results.Size size(Peer peer, Path rootfs) throws InterruptedException {
        long vmImage = Sizes.bytes(images.kernel()) + Sizes.bytes(images.initrd());
        return switch (peer) {
            case HOST -> new Results.Size(Sizes.bytes(RootfsDirectory.busybox(rootfs)), 0, "busybox", "none");
            case PANAVISOR -> new Results.Size(vmImage, jarAndLibraries(jar()) + Sizes.bytes(javaHome())
                    + aotCache().map(Sizes::bytes).orElse(0L), "bzImage + initramfs",
                    "Panavisor jar and its libraries + Java runtime"
                            + (aotCache().isPresent() ? " + AOT cache" : " (no AOT cache: its instances ran without)"));
            case QEMU -> new Results.Size(vmImage, Sizes.programs(peer.programs), "bzImage + initramfs",
                    "qemu-system-x86_64 + libraries");
            default -> new Results.Size(Sizes.bytes(rootfs), Sizes.programs(peer.programs), "busybox rootfs",
                    String.join(" + ", peer.programs) + " + libraries");
        };
    }

    /**
     * The home of the Java runtime that runs Panavisor's instances: the one {@code ./panavisor} links (a jlink image
     * of the modules it needs), or a whole JDK.
     */
    private Path javaHome() {
        Path java = Path.of(javaCommand.getFirst()); // HOME/bin/java, or "java" when the JVM's path was not known
        return java.isAbsolute() && java.getNameCount() > 2 ? java.getParent().getParent()
                : Path.of(System.getProperty("java.home"));
    }

    /** The AOT cache the instances map (part of what Panavisor needs on disk), if they use one. */
    private Optional<Path> aotCache() {
        return javaCommand.stream().filter(word -> word.startsWith("-XX:AOTCache="))
                .map(word -> Path.of(word.substring("-XX:AOTCache=".length()))).findFirst();
    }

    /** The jar and the libraries its manifest's Class-Path names (pom.xml copies them to lib/ beside it). */
    static long jarAndLibraries(Path jar) {
        long bytes = Sizes.bytes(jar);
        try (java.util.jar.JarFile file = new java.util.jar.JarFile(jar.toFile())) {
            java.util.jar.Manifest manifest = file.getManifest();
            String classPath = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
            if (classPath != null && !classPath.isBlank()) {
                for (String library : classPath.trim().split("\\s+")) {
                    bytes += Sizes.bytes(jar.resolveSibling(library));
                }
            }
        } catch (java.io.IOException e) {
            // Not a jar that can be read: its own size is all there is to count.
        }
        return bytes;
    }

    private Path jar() {
        for (String word : javaCommand) {
            if (word.endsWith(".jar")) {
                return Path.of(word);
            }
        }
        return Path.of("target", "panavisor.jar");
    }

    private void say(String format, Object... args) {
        progress.printf(format + "%n", args);
        progress.flush();
    }
}
