package dev.panavisor.cli;

import dev.panavisor.lab.Durations;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import dev.panavisor.lab.LabException;
import dev.panavisor.lab.LabOutputLostException;
import dev.panavisor.lab.LabTimeoutException;
import dev.panavisor.lab.TcgThreads;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code panavisor lab [OPTIONS] -- CMD [ARGS...]}: runs CMD as root inside the nested lab (an L1 Linux under
 * QEMU's TCG with kvm_amd, see docs/lab.md) and exits with CMD's exit status.
 */
@Command(name = "lab", mixinStandardHelpOptions = true, sortOptions = false,
        modelTransformer = LabCommand.StopAtCommand.class,
        description = {
                "Run CMD inside the nested lab: an L1 Linux under QEMU (TCG, emulated AMD CPU with SVM) whose "
                        + "kvm_amd gives CMD a hardware-style /dev/kvm.",
                "The host's files are visible read-only at their own paths; the working directory, the Panavisor "
                        + "project directory ($PANAVISOR_HOME) and --writable directories are writable; /tmp is "
                        + "private (the host's /tmp read-through; writes stay inside). CMD's stdout and stderr "
                        + "stream live; its stdin is empty.",
                "Exit status: CMD's own; 124 when the time limit passed; 125 when the lab failed (setup inside "
                        + "L1, packages, QEMU)."},
        footer = {"", "Examples:", "  panavisor lab -- ls /sys/module/kvm_amd",
                "  panavisor lab --timeout 20m -- mvn -o -q test"})
final class LabCommand implements Callable<Integer> {
    /** Like timeout(1): the command was stopped because the time limit passed. */
    static final int TIMED_OUT = 124;
    /** The lab itself failed, so CMD's status is unknown (also like timeout(1) and env(1)). */
    static final int LAB_FAILED = 125;

    @Option(names = "--cpus", paramLabel = "N", description = "L1 virtual CPUs (default: host CPUs, at most 4).")
    Integer cpus;

    @Option(names = "--tcg-threads", paramLabel = "single|multi",
            description = "How QEMU runs L1's CPUs: one host thread each (multi), or all on one thread in turn "
                    + "(single). Default: multi.")
    TcgThreads tcgThreads = TcgThreads.DEFAULT;

    @Option(names = "--memory", paramLabel = "SIZE", converter = MemoryConverter.class,
            description = "L1 memory: MiB, or with a unit (512M, 4G). Default: a quarter of the host's, "
                    + "at least 1G and at most 4G.")
    Integer memoryMiB;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Stop QEMU and fail after this long, boot included: seconds or 90s, 15m, 2h. Default: 60m.")
    Duration timeout;

    @Option(names = "--workdir", paramLabel = "DIR",
            description = "CMD's working directory, writable inside (default: the current directory).")
    Path workDir;

    @Option(names = "--writable", paramLabel = "DIR", description = "Another host directory writable inside.")
    List<Path> writable = new ArrayList<>();

    @Option(names = "--scratch", paramLabel = "DIR",
            description = "A host directory writable inside whose changes are discarded (an overlay).")
    List<Path> scratch = new ArrayList<>();

    @Option(names = "--no-project", description = "Do not make the Panavisor project directory writable.")
    boolean noProject;

    @Option(names = "--console", description = "Show the L1 kernel console on stderr (and boot L1 verbosely).")
    boolean console;

    @Option(names = "--timings", description = "Print when each lab stage began (to stderr) after the run.")
    boolean timings;

    @Parameters(arity = "1..*", paramLabel = "CMD", description = "The command and its arguments.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() {
        PrintStream err = new PrintStream(System.err, true, StandardCharsets.UTF_8);
        LabConfig config = config();
        try {
            // The descriptors, not System.out and System.err: a PrintStream keeps its write errors to itself, and a
            // command whose output has no reader left (| head -1) would run on.
            Lab.Result result = new Lab(config, line -> err.println("panavisor lab: " + line))
                    .run(command, new FileOutputStream(FileDescriptor.out), new FileOutputStream(FileDescriptor.err));
            if (timings) {
                result.stages().forEach((stage, at) -> err.printf(Locale.ROOT, "panavisor lab: stage %-8s at %5.2f s%n",
                        stage, at.toMillis() / 1000.0));
            }
            return result.exitCode();
        } catch (LabOutputLostException e) {
            PrintWriter writer = new PrintWriter(err, true);
            return RunCommand.outputLost(e.lost(), writer);
        } catch (LabTimeoutException e) {
            err.println("panavisor lab: " + e.getMessage());
            return TIMED_OUT;
        } catch (LabException e) {
            err.println("panavisor lab: " + e.getMessage());
            return LAB_FAILED;
        }
    }

    LabConfig config() {
        LabConfig c = LabConfig.defaults();
        try {
            if (cpus != null) {
                c = c.withCpus(cpus);
            }
            if (memoryMiB != null) {
                c = c.withMemoryMiB(memoryMiB);
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (timeout != null) {
            c = c.withTimeout(timeout);
        }
        if (workDir != null) {
            if (!java.nio.file.Files.isDirectory(workDir)) { // a usage error (2), not the lab's failure (125)
                throw new UsageException("--workdir " + workDir + ": not a directory");
            }
            c = c.withWorkDir(workDir);
        }
        String project = System.getenv("PANAVISOR_HOME");
        if (!noProject && project != null && !project.isBlank()) {
            c = c.withWritable(Path.of(project));
        }
        for (Path p : writable) {
            c = c.withWritable(p);
        }
        for (Path p : scratch) {
            c = c.withScratch(p);
        }
        return c.withShowConsole(console).withTcg(tcgThreads);
    }

    /** "4096" (MiB), "512M", "4G": {@link SizeConverter}'s sizes, in whole MiB. */
    static int parseMiB(String text) {
        long bytes;
        try {
            bytes = SizeConverter.parse(text);
        } catch (CommandLine.TypeConversionException e) {
            bytes = -1;
        }
        if (bytes <= 0 || bytes % (1 << 20) != 0 || (bytes >> 20) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("not a memory size: '" + text + "' (use e.g. 4096, 512M, 4G)");
        }
        return (int) (bytes >> 20);
    }

    static final class MemoryConverter implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            try {
                return parseMiB(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return Durations.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** Everything after CMD belongs to CMD, even words that look like options ("lab ls -l"). */
    static final class StopAtCommand implements CommandLine.IModelTransformer {
        @Override
        public CommandLine.Model.CommandSpec transform(CommandLine.Model.CommandSpec spec) {
            spec.parser().stopAtPositional(true);
            return spec;
        }
    }
}
