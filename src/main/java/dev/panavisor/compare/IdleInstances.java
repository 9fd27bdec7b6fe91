package dev.panavisor.compare;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.measure.NmtSummary;
import dev.panavisor.measure.ProcessGroup;
import dev.panavisor.measure.SeccompMode;
import dev.panavisor.measure.Smaps;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The resources and density rows: idle instances of one peer started one after another, each waited for until
 * ready, until {@code densityMax} run or a budget is spent (the PSS of all of them together over the memory budget,
 * or the time since the first start over the time budget). Then, with all of them up and idle, each instance's
 * memory is read and their CPU time counted over a window; the figures are averages per instance (the Kata
 * Containers density method: N idle instances, average PSS).
 */
final class IdleInstances {
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(5);

    /** What starts an instance: {@link Launcher#launch} (a stand-in in tests). */
    @FunctionalInterface
    interface Launches {
        Launcher.Launch launch(Peer peer, Workload.Kind kind, String name, boolean trackJvmMemory) throws IOException;
    }

    private IdleInstances() {
    }

    record Measured(Results.Memory memory, Results.Density density) {
    }

    static Measured measure(Peer peer, Launches launcher, Results.Settings settings, PrintWriter progress,
            String prefix, ExitCleanup cleanup) throws IOException, InterruptedException {
        List<StartedInstance> started = new ArrayList<>();
        Consumer<String> warnings = line -> {
            progress.printf("%s %s: %s%n", prefix, peer.id, line);
            progress.flush();
        };
        long begin = System.nanoTime();
        String stoppedBy = "the instance count (" + settings.densityMax() + ")";
        try {
            for (int i = 1; i <= settings.densityMax(); i++) {
                progress.printf("%s %s: density, idle instance %d of at most %d%n", prefix, peer.id, i,
                        settings.densityMax());
                progress.flush();
                String name = "pvcmp-" + peer.id + "-idle-" + i + "-" + ProcessHandle.current().pid();
                Launcher.Launch launch = launcher.launch(peer, Workload.Kind.IDLE, name,
                        peer == Peer.PANAVISOR && i == 1);
                StartedInstance instance = StartedInstance.start(launch, name, cleanup, warnings);
                started.add(instance);
                if (!instance.instance().awaitReady(READY_TIMEOUT)) {
                    // Stopped as every other one is, with its container's removal: a runtime that hung before
                    // "ready" may have made the container all the same.
                    started.removeLast().close();
                    stoppedBy = "an instance that did not become ready: " + lastLine(instance.instance().output());
                    break;
                }
                long total = started.stream().mapToLong(s -> group(s).pss()).sum();
                double elapsedMs = (System.nanoTime() - begin) / 1e6;
                if (total > settings.memoryBudget()) {
                    stoppedBy = "the memory budget";
                    break;
                }
                if (elapsedMs > settings.timeBudgetMs()) {
                    stoppedBy = "the time budget";
                    break;
                }
            }
            double secondsToStart = (System.nanoTime() - begin) / 1e9;
            if (started.isEmpty()) {
                throw new IOException("no idle instance started: " + stoppedBy);
            }
            Thread.sleep(1000); // let the last instance settle after its start
            List<ProcessGroup> groups = started.stream().map(IdleInstances::group).toList();
            long ticksBefore = groups.stream().mapToLong(ProcessGroup::cpuTicks).sum();
            long windowStart = System.nanoTime();
            Thread.sleep(settings.idleSeconds() * 1000L);
            long ticks = groups.stream().mapToLong(ProcessGroup::cpuTicks).sum() - ticksBefore;
            double window = (System.nanoTime() - windowStart) / 1e9;
            double cpuPercent = 100.0 * ticks / ProcessGroup.CLOCK_TICKS_PER_SECOND / window / started.size();
            double overhead = 0;
            double pss = 0;
            for (int i = 0; i < started.size(); i++) {
                ProcessGroup group = groups.get(i);
                pss += group.pss();
                overhead += peer.kind == Peer.Kind.VM ? vmmOverhead(peer, started.get(i).instance().pid(),
                        settings.guestMiB() * 1024L * 1024) : group.pss();
            }
            long first = started.getFirst().instance().pid();
            Map<String, Long> jvm = peer == Peer.PANAVISOR ? jvmShare(first) : Map.of();
            int seccomp = peer.kind == Peer.Kind.VM ? SeccompMode.ofProcess(first) : SeccompMode.UNKNOWN;
            int n = started.size();
            return new Measured(new Results.Memory(overhead / n, pss / n, cpuPercent, jvm, seccomp),
                    new Results.Density(n, pss / n, secondsToStart, stoppedBy));
        } finally {
            started.forEach(StartedInstance::close);
        }
    }

    private static ProcessGroup group(StartedInstance s) {
        return ProcessGroup.of(s.instance().pid(), s.name());
    }

    /**
     * The VMM's own resident memory: its RSS minus the guest memory it maps (Firecracker's method). Panavisor maps
     * the guest as one anonymous region of exactly the guest's size; QEMU as an anonymous region at least that large.
     */
    static double vmmOverhead(Peer peer, long pid, long guestBytes) {
        Smaps smaps = Smaps.ofProcess(pid);
        return smaps.overhead(peer == Peer.PANAVISOR ? Smaps.anonymousOfSize(guestBytes)
                : Smaps.anonymousAtLeast(guestBytes)).vmmRss();
    }

    /** The JVM's committed memory by category, from NMT through jcmd (empty when jcmd is missing or fails). */
    private static Map<String, Long> jvmShare(long pid) throws InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        try {
            List<String> command = new java.util.ArrayList<>(List.of(jcmd.toString()));
            if (dev.panavisor.lab.Lab.insideLab()) {
                // jcmd is a JVM too: inside L1 it gets the lab's JIT options (docs/lab.md, "JVM crashes inside L1").
                dev.panavisor.lab.Lab.JVM_OPTIONS.forEach(option -> command.add("-J" + option));
            }
            command.addAll(List.of(Long.toString(pid), "VM.native_memory", "summary"));
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor();
            return NmtSummary.committed(output.lines().toList());
        } catch (IOException e) {
            return Map.of();
        }
    }

    static String lastLine(String output) {
        List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.getLast().strip();
    }
}
