package dev.panavisor.cli;

import dev.panavisor.cli.IoWorkload.ExitCounts;
import dev.panavisor.cli.IoWorkload.Metric;
import dev.panavisor.cli.IoWorkload.Result;
import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.IoErrors;
import dev.panavisor.image.BenchDisk;
import dev.panavisor.image.GuestImages;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.lab.RecycledCodePages;
import dev.panavisor.memory.GuestLayout;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panavisor bench io}: virtio-blk throughput of Panavisor against QEMU's microvm machine, the same guest
 * program on the same disk image, side by side in one run (inside one nested lab session where /dev/kvm cannot
 * boot Linux, as {@code bench boot} does).
 *
 * <p>Each measurement boots a fresh guest under each VMM, the default kernel with an initramfs that also carries
 * {@code tools/bench/io-load.c} (built here with {@code gcc -static}), and the image as its only disk,
 * {@code /dev/vda}. io-load times itself inside the guest, so boots and console output do not count. Panavisor
 * also runs with {@code --exit-stats}; a boot running {@code true} with the same disk gives the exits to subtract,
 * which leaves the exits the transfer itself cost.
 */
@Command(name = "io", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Disk throughput of Panavisor and QEMU microvm (virtio-blk, cache=writeback), same guest "
                + "program and disk image: sequential read and write MiB/s (1 MiB blocks, write includes fsync), "
                + "4 KiB random read IOPS at queue depth 1 and 8, guest page cache dropped before each.",
                "Ends with one 'ratio <metric> panavisor/qemu: <x>' line per metric (higher is better for "
                        + "Panavisor). Needs gcc (with a static libc) and qemu-system-x86_64.",
                "Inside the nested lab, 384 MiB of its free memory is cleared before each run, untimed "
                        + "(docs/performance.md, \"The lab's memory stall, explained\")."})
final class BenchIoCommand implements Callable<Integer> {
    /** The first virtio-mmio device: the benchmark disk, as Panavisor's only virtio device on a serial console. */
    static final long DISK_REGISTERS = GuestLayout.VIRTIO_MMIO_BASE;
    /**
     * What a VM run may take besides its random-read test's {@code --seconds}: the boot, the page cache's drop, and
     * the sequential tests, which move the whole image (under a minute at 128 MiB in the lab).
     */
    static final Duration VM_TIME_MARGIN = Duration.ofMinutes(5);

    @Spec
    CommandSpec spec;

    @Option(names = "--rounds", paramLabel = "N", description = "Rounds of each measurement (default: 3; --quick: 1).")
    Integer rounds;

    @Option(names = "--quick", description = "Small and short, for CI: 1 round, 32 MiB, 3 s random reads "
            + "(a few minutes inside the nested lab).")
    boolean quick;

    @Option(names = "--size", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Disk image size; the sequential tests move all of it, random reads fall anywhere in it "
                    + "(default: 128M; --quick: 32M).")
    Long size;

    @Option(names = "--seconds", paramLabel = "N", description = "Length of each random-read test (default: 10; "
            + "--quick: 3).")
    Integer seconds;

    @Option(names = "--kernel", paramLabel = "FILE", description = "Kernel (default: the default guest's bzImage).")
    Path kernel;

    @Option(names = "--initrd", paramLabel = "FILE",
            description = "Base initramfs with Panavisor's /init (default: the default guest's); io-load is added.")
    Path initrd;

    /** Set by the outer run for the run inside the lab: the initramfs that already carries io-load. */
    @Option(names = "--bench-initrd", hidden = true)
    Path benchInitrd;

    @Override
    public Integer call() {
        int roundCount = rounds != null ? rounds : quick ? 1 : 3;
        long sizeBytes = size != null ? size : (quick ? 32 : 128) * IoWorkload.MIB;
        int testSeconds = seconds != null ? seconds : quick ? 3 : 10;
        validate(roundCount, sizeBytes, testSeconds);
        long sizeMiB = sizeBytes / IoWorkload.MIB;
        PrintWriter out = spec.commandLine().getOut();
        // io-load and the initramfs that carries it: gone at the end, also after Ctrl-C.
        try (ExitCleanup cleanup = ExitCleanup.install()) {
            if (kernel == null || (benchInitrd == null && initrd == null)) {
                GuestImages.GuestImage guest = GuestImages.forUser(line -> out.println("images: " + line)).guest();
                kernel = kernel == null ? guest.kernel().bzImage() : kernel;
                initrd = initrd == null ? guest.rootfs().initramfs() : initrd;
            }
            // Before gcc and the lab: a kernel that is no kernel is one line now, not a failed boot minutes later.
            BenchBootCommand.checkBootFiles(kernel, benchInitrd != null ? benchInitrd : initrd);
            if (benchInitrd == null) {
                Path workDir = cleanup.temporaryDirectory("panavisor-bench-io-");
                Path program = IoBenchFiles.buildLoadProgram(workDir);
                benchInitrd = IoBenchFiles.benchInitramfs(initrd, program, workDir);
            }
            LinuxGuests where = LinuxGuests.locate();
            return switch (where.route()) {
                case LAB -> {
                    out.println("(" + where.labNotice() + ")");
                    out.flush();
                    yield Lab.run(LabConfig.defaults(), labCommand(roundCount, sizeMiB, testSeconds),
                            new FileOutputStream(FileDescriptor.out), new FileOutputStream(FileDescriptor.err));
                }
                case DIRECT -> measure(out, roundCount, sizeMiB, testSeconds);
                case NONE -> throw new CommandFailedException(where.nowhereReason());
            };
        } catch (RunFailedException e) { // the boot that counts the exits to subtract: the run cannot go on
            e.printTail(spec.commandLine().getErr());
            throw e;
        } catch (IOException e) { // a temporary file, the initramfs: the host's trouble, not a bug
            throw new CommandFailedException("bench io: " + IoErrors.describe(e));
        } catch (InterruptedException e) {
            throw BenchBootCommand.stopped(e);
        }
    }

    /**
     * What one VM run may take: its random-read test runs for {@code testSeconds} (up to 600), and then it needs
     * {@link #VM_TIME_MARGIN} besides; a fixed limit would cut the longest tests off and call them "no result".
     */
    static Duration vmTimeLimit(int testSeconds) {
        return VM_TIME_MARGIN.plusSeconds(testSeconds);
    }

    /**
     * Writes the benchmark's disk image in {@code dir}: up to 4 GiB, where /tmp may not have the room, which is one
     * line saying so, not a stack trace.
     */
    static Path createDisk(Path dir, long sizeMiB) {
        Path disk = dir.resolve("disk.img");
        try {
            BenchDisk.create(disk, sizeMiB);
        } catch (IOException e) {
            // A full file system's IOException names no file (FileChannel.write's "No space left on device").
            String why = (e instanceof java.nio.file.FileSystemException ? "" : disk + ": ") + IoErrors.describe(e);
            throw new CommandFailedException("cannot write the " + sizeMiB + " MiB disk image for the benchmark: "
                    + why + (why.contains("No space left") ? " (a smaller --size needs less room)" : ""));
        }
        return disk;
    }

    static void validate(int rounds, long sizeBytes, int seconds) {
        if (rounds < 1) {
            throw new UsageException("--rounds must be positive");
        }
        if (sizeBytes < IoWorkload.MIB || sizeBytes % IoWorkload.MIB != 0 || sizeBytes > (4L << 30)) {
            throw new UsageException("--size must be whole MiB, from 1M to 4G");
        }
        if (seconds < 1 || seconds > 600) {
            throw new UsageException("--seconds must be from 1 to 600");
        }
    }

    private int measure(PrintWriter out, int roundCount, long sizeMiB, int testSeconds)
            throws IOException, InterruptedException {
        requireQemu();
        // Panavisor's JVMs start with the AOT cache, as users' do: record it first if this jar has none yet.
        AotTraining.ensure(LinuxGuests.Route.DIRECT, kernel, benchInitrd, out);
        Duration timeLimit = vmTimeLimit(testSeconds);
        // The image (up to 4 GiB) and whichever VMM is running: gone at the end, also after Ctrl-C.
        try (ExitCleanup cleanup = ExitCleanup.install()) {
            Path disk = createDisk(cleanup.temporaryDirectory("panavisor-bench-io-disk-"), sizeMiB);
            out.printf("disk image %s: %d MiB; random reads for %d s each; %d round%s%n", disk, sizeMiB,
                    testSeconds, roundCount, roundCount == 1 ? "" : "s");
            out.println("panavisor: a boot running 'true' with the disk attached, for its exit count...");
            out.flush();
            RecycledCodePages clearing = new RecycledCodePages(BenchBootCommand.GUEST_BYTES, Lab.insideLab());
            clearing.clearBeforeRun();
            String bootOutput = BenchBootCommand.time(panavisor(disk, "true"), 0, timeLimit).output();
            IoReport report = new IoReport(IoWorkload.parseExitStats(bootOutput, DISK_REGISTERS));
            for (int round = 1; round <= roundCount; round++) {
                for (Metric metric : Metric.values()) {
                    String guestCommand = metric.guestCommand(sizeMiB, testSeconds);
                    out.printf("round %d %s: panavisor...%n", round, metric.label);
                    out.flush();
                    try {
                        clearing.clearBeforeRun();
                        String panavisorOutput = BenchBootCommand.time(panavisor(disk, guestCommand), 0,
                                timeLimit).output();
                        Result panavisorResult = IoWorkload.parseResult("panavisor", panavisorOutput, metric);
                        Optional<ExitCounts> exits = IoWorkload.parseExitStats(panavisorOutput, DISK_REGISTERS);
                        out.printf("round %d %s: qemu...%n", round, metric.label);
                        out.flush();
                        clearing.clearBeforeRun();
                        Result qemuResult = IoWorkload.parseResult("qemu-system-x86_64", BenchBootCommand.time(
                                qemu(disk, guestCommand), 0, timeLimit).output(), metric);
                        out.println(report.add(round, metric, panavisorResult, qemuResult, exits));
                    } catch (RunFailedException e) { // a VM that timed out or printed no result: say so, go on
                        out.flush();
                        e.printTail(spec.commandLine().getErr());
                        out.println(report.missing(round, metric, e.getMessage()));
                    }
                    out.flush();
                }
            }
            clearing.summary().ifPresent(out::println); // before the ratio lines, which end the output
            report.summary().forEach(out::println);
            out.flush();
            if (report.missing() > 0) {
                throw new CommandFailedException(report.missing() + " of " + roundCount * Metric.values().length
                        + " measurements gave no result (the 'no result' lines above); the ratios leave them out");
            }
            return ExitCodes.OK;
        }
    }

    /**
     * This command again, for the JVM that measures inside the lab: the lab's JVM options (C1 only: docs/lab.md), as
     * every JVM there gets them, whatever this host's are.
     */
    List<String> labCommand(int roundCount, long sizeMiB, int testSeconds) {
        List<String> command = new ArrayList<>(InLab.javaCommand());
        command.addAll(List.of("bench", "io", "--rounds=" + roundCount, "--size=" + sizeMiB + "M",
                "--seconds=" + testSeconds, "--kernel=" + kernel.toAbsolutePath(),
                "--bench-initrd=" + benchInitrd.toAbsolutePath()));
        return command;
    }

    /** A measured Panavisor run: this place's JVM options (the lab's inside it, the host's on hardware KVM). */
    List<String> panavisor(Path disk, String guestCommand) {
        List<String> command = new ArrayList<>(JavaCommand.panavisor(Lab.insideLab()));
        command.addAll(List.of("run", "--kernel=" + kernel, "--initrd=" + benchInitrd, "--disk=" + disk,
                "--exec=" + guestCommand, "--exit-stats"));
        return command;
    }

    /**
     * QEMU's microvm as {@code bench boot} runs it (256 MiB, 1 vCPU, serial console, same kernel parameters), with
     * the image on virtio-blk over virtio-mmio. {@code cache=writeback} is QEMU's default: the host page cache is
     * used and a guest flush becomes an fdatasync, which is what Panavisor's file backend does too. Without ACPI,
     * microvm adds the device's {@code virtio_mmio.device=} parameter to the kernel command line itself.
     */
    List<String> qemu(Path disk, String guestCommand) {
        String exec = Base64.getEncoder().encodeToString(guestCommand.getBytes(StandardCharsets.UTF_8));
        return List.of("qemu-system-x86_64", "-M", "microvm,acpi=off", "-accel", "kvm", "-cpu", "max",
                "-m", "256", "-smp", "1", "-nographic", "-no-reboot", "-no-user-config",
                "-kernel", kernel.toString(), "-initrd", benchInitrd.toString(),
                "-append", "console=ttyS0 reboot=t panic=-1 quiet panavisor.exec=" + exec,
                "-drive", "if=none,id=d0,file=" + disk + ",format=raw,cache=writeback",
                "-device", "virtio-blk-device,drive=d0");
    }

    /** Fails at once, not after the first Panavisor run, when QEMU is missing. */
    private static void requireQemu() throws InterruptedException {
        try {
            Process version = new ProcessBuilder("qemu-system-x86_64", "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (version.waitFor() == 0) {
                return;
            }
        } catch (IOException e) {
            // Reported below.
        }
        throw new CommandFailedException("qemu-system-x86_64 not found or not working: bench io compares against "
                + "QEMU (install qemu-system-x86)");
    }
}
