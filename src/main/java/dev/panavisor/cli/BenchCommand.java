package dev.panavisor.cli;

import dev.panavisor.host.HostCommand;
import dev.panavisor.host.IoErrors;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.vmm.ExitBenchmark;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panavisor bench}: measurements that compare Panavisor against a baseline in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks, each against a baseline run side by side.",
        subcommands = {BenchCommand.Exits.class, BenchBootCommand.class, BenchIoCommand.class,
                BenchCompareCommand.class})
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Guest exit round trips: Panavisor's Java run loop vs a minimal C loop on the same guest code. */
    @Command(name = "exits", mixinStandardHelpOptions = true,
            description = {"Time guest exits (port writes by a tiny guest) through the Java run loop and, alternating"
                    + " with it, through a minimal C program (tools/bench/exit-loop.c, built with gcc).",
                    "Reports the median of each and the Java/C ratio of time per exit (1.00 = as fast as C)."})
    static final class Exits implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--count", paramLabel = "N", description = "Exits per run (default: ${DEFAULT-VALUE}).")
        int count = 100_000;

        @Option(names = "--rounds", paramLabel = "N", description = "Timed runs of each (default: ${DEFAULT-VALUE}).")
        int rounds = 5;

        @Option(names = "--no-c", description = "Skip the C baseline.")
        boolean noC;

        @Option(names = "--trace-cost", description = {"Instead of the C baseline: what the exit handler costs, and "
                + "what its --trace check costs when tracing is off. Alternates, round by round, the exits going "
                + "through the handler's decision alone (before the check existed) and through the handler with the "
                + "check and the trace off; reports the after/before ratio (docs/performance.md)."})
        boolean traceCost;

        @Override
        public Integer call() throws InterruptedException {
            if (count <= 0 || rounds <= 0) {
                throw new UsageException("--count and --rounds must be positive");
            }
            PrintWriter out = spec.commandLine().getOut();
            if (traceCost) {
                return traceCost(out);
            }
            Path baseline = noC ? null : CBaseline.build(out);
            List<Double> java = new ArrayList<>();
            List<Double> c = new ArrayList<>();
            try (Kvm kvm = Kvm.open()) {
                ExitBenchmark.run(kvm, Math.max(1000, count / 5)); // warm-up: JIT-compile the loop
                out.printf("%-6s %14s %14s%n", "round", "java ns/exit", "c ns/exit");
                for (int round = 1; round <= rounds; round++) {
                    double javaNanos = ExitBenchmark.run(kvm, count).nanosPerExit();
                    java.add(javaNanos);
                    Double cNanos = baseline == null ? null : CBaseline.run(baseline, count);
                    if (cNanos != null) {
                        c.add(cNanos);
                    }
                    out.printf("%-6d %14.0f %14s%n", round, javaNanos, cNanos == null ? "-" : "%.0f".formatted(cNanos));
                    out.flush();
                }
            }
            double javaMedian = median(java);
            out.printf("java: median %.0f ns/exit (%.0f exits/s)%n", javaMedian, 1e9 / javaMedian);
            if (!c.isEmpty()) {
                double cMedian = median(c);
                out.printf("c:    median %.0f ns/exit (%.0f exits/s)%n", cMedian, 1e9 / cMedian);
                out.printf("ratio java/c (time per exit): %.3f%n", javaMedian / cMedian);
            }
            out.flush();
            return ExitCodes.OK;
        }

        /** The trace check's cost when off: the handler without it (before) and with it (after), alternated. */
        private int traceCost(PrintWriter out) {
            List<Double> bare = new ArrayList<>();
            List<Double> before = new ArrayList<>();
            List<Double> after = new ArrayList<>();
            try (Kvm kvm = Kvm.open()) {
                for (ExitBenchmark.Handling handling : ExitBenchmark.Handling.values()) {
                    ExitBenchmark.run(kvm, Math.max(1000, count / 5), handling); // warm-up: JIT-compile each path
                }
                out.printf("%-6s %14s %14s %14s%n", "round", "loop ns/exit", "before ns/exit", "after ns/exit");
                for (int round = 1; round <= rounds; round++) {
                    double loop = ExitBenchmark.run(kvm, count, ExitBenchmark.Handling.BARE).nanosPerExit();
                    double without = ExitBenchmark.run(kvm, count, ExitBenchmark.Handling.DISPATCH).nanosPerExit();
                    double with = ExitBenchmark.run(kvm, count, ExitBenchmark.Handling.HANDLE).nanosPerExit();
                    bare.add(loop);
                    before.add(without);
                    after.add(with);
                    out.printf("%-6d %14.0f %14.0f %14.0f%n", round, loop, without, with);
                    out.flush();
                }
            }
            out.printf("loop alone:                          median %.0f ns/exit%n", median(bare));
            out.printf("handler, no trace check (before):    median %.0f ns/exit%n", median(before));
            out.printf("handler, trace check, off (after):   median %.0f ns/exit%n", median(after));
            out.printf("ratio handler/loop: %.3f%n", median(before) / median(bare));
            out.printf("ratio after/before (trace off): %.3f%n", median(after) / median(before));
            out.flush();
            return ExitCodes.OK;
        }

        static double median(List<Double> values) {
            List<Double> sorted = values.stream().sorted().toList();
            int n = sorted.size();
            return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        }
    }

    /** Builds and runs tools/bench/exit-loop.c. */
    static final class CBaseline {
        private CBaseline() {
        }

        static Path build(PrintWriter out) throws InterruptedException {
            return build(out, "gcc");
        }

        /**
         * The baseline built with {@code compiler}, or null after a line saying why there is none: no source tree,
         * no compiler (a host without gcc), a failed build; the Java side is measured either way.
         */
        static Path build(PrintWriter out, String compiler) throws InterruptedException {
            String home = System.getenv("PANAVISOR_HOME");
            Path source = Path.of(home == null ? "." : home, "tools", "bench", "exit-loop.c");
            if (!Files.isRegularFile(source)) {
                out.println("(no C baseline: " + source + " not found; run from the source tree)");
                return null;
            }
            Path binary = null;
            try {
                binary = Files.createTempFile("panavisor-exit-loop", "");
                binary.toFile().deleteOnExit();
                Process gcc = new ProcessBuilder(compiler, "-O2", "-o", binary.toString(), source.toString())
                        .redirectErrorStream(true).start();
                String log = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (gcc.waitFor() != 0) {
                    out.println("(no C baseline: " + compiler + " failed: " + HostCommand.lastLines(log, 3) + ")");
                    Files.deleteIfExists(binary);
                    return null;
                }
                return binary;
            } catch (IOException e) {
                out.println("(no C baseline: cannot build " + source + " with " + compiler + ": "
                        + IoErrors.describe(e) + ")");
                if (binary != null) {
                    binary.toFile().delete();
                }
                return null;
            }
        }

        static Double run(Path binary, int count) throws InterruptedException {
            String output;
            Process process;
            try {
                process = new ProcessBuilder(binary.toString(), Integer.toString(count))
                        .redirectErrorStream(true).start();
                output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new CommandFailedException("cannot run the C baseline " + binary + ": " + IoErrors.describe(e));
            }
            if (process.waitFor() != 0 || !output.startsWith("exits=")) {
                throw new CommandFailedException("C baseline failed: " + HostCommand.lastLines(output, 3));
            }
            long exits = Long.parseLong(output.replaceAll(".*exits=(\\d+).*", "$1"));
            double seconds = Double.parseDouble(output.replaceAll(".*seconds=([0-9.]+).*", "$1"));
            return seconds * 1e9 / exits;
        }
    }
}
