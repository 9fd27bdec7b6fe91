package dev.panavisor.compare;

import java.util.List;
import java.util.Map;

/**
 * Everything one {@code bench compare} run measured, as plain records: written as results.json by the measuring
 * process (inside the lab where /dev/kvm cannot boot Linux) and read back by the process that draws the report, so
 * the JSON is the one hand-over between them. Times are in milliseconds, sizes in bytes, CPU in percent of one
 * CPU. NaN (JSON null would lose the type) stands for "not measured".
 *
 * @param where     where every figure was measured ("inside the nested lab (L1 ...)" or "hardware KVM ...")
 * @param hostKernel {@code uname -r} of the machine the peers ran on (L1 inside the lab)
 * @param started   when the run began (ISO-8601)
 * @param settings  the run's parameters
 * @param network   the links the network rows were measured over, or why they were not ({@link NetworkLinks})
 * @param peers     one entry per peer asked for, in {@link Peer} order, whether it ran or not
 */
public record Results(String where, String hostKernel, String started, Settings settings, String network,
        List<PeerResult> peers) {
    public Results {
        peers = List.copyOf(peers);
    }

    /**
     * @param runs          serial start runs per peer (and start runs in the parallel batches)
     * @param parallel      instances started at once in the parallel batches
     * @param densityMax    idle instances started at most for the density row
     * @param memoryBudget  bytes the idle instances of one peer may use together (PSS) before density stops
     * @param timeBudgetMs  time the density row may spend starting one peer's instances
     * @param idleSeconds   window over which idle CPU is measured
     * @param ioMiB         bytes moved by each sequential I/O test, in MiB (the random tests' span)
     * @param randomSeconds how long each 4 KiB random I/O test runs
     * @param cpuLoops      iterations of the shell CPU loop
     * @param guestMiB      guest memory of each VM
     * @param netMiB        bytes moved each way by the network rows, in MiB
     */
    public record Settings(boolean quick, int runs, int parallel, int densityMax, long memoryBudget,
            long timeBudgetMs, int idleSeconds, int ioMiB, int randomSeconds, int cpuLoops, int guestMiB,
            int netMiB) {
    }

    /**
     * @param peer       {@link Peer#id}
     * @param ran        whether it was measured; when false, {@code why} says why not
     * @param why        why the peer did not run or what went wrong part way ("" when all went well)
     * @param route      how it ran ("KVM inside the lab", "namespaces on L1's kernel", ...)
     * @param size       bytes on disk
     * @param start      start-time samples
     * @param memory     idle-instance memory and CPU
     * @param density    the density row
     * @param workload   I/O, CPU loop and isolation facts from one run of the workload script
     */
    public record PeerResult(String peer, boolean ran, String why, String route, Size size, Start start,
            Memory memory, Density density, Workload workload) {
        public static PeerResult skipped(Peer peer, String why) {
            return new PeerResult(peer.id, false, why, "", null, null, null, null, null);
        }
    }

    /** @param image what it needs to run {@code true} (kernel+initramfs, rootfs); runtime: the runtime's own files */
    public record Size(long image, long runtime, String imageWhat, String runtimeWhat) {
    }

    /**
     * Start-time samples in ms: to the workload (VMs: the init's boot marker; containers and host: the workload's
     * first output) and end to end (whole run of {@code true}), serial and with {@code parallel} at once.
     *
     * @param throughput instances per second in the parallel batches (instances / batch wall time, averaged)
     */
    public record Start(List<Double> toWorkload, List<Double> endToEnd, List<Double> toWorkloadParallel,
            List<Double> endToEndParallel, double throughput) {
        public Start {
            toWorkload = List.copyOf(toWorkload);
            endToEnd = List.copyOf(endToEnd);
            toWorkloadParallel = List.copyOf(toWorkloadParallel);
            endToEndParallel = List.copyOf(endToEndParallel);
        }
    }

    /**
     * Per idle instance (averages over the density row's instances).
     *
     * @param overheadBytes VMs: VMM RSS minus the guest memory it maps (Firecracker's method); others: PSS of the
     *                      runtime's processes and the workload
     * @param pssBytes      PSS of all the instance's processes, guest memory included
     * @param idleCpuPercent CPU used while idle, percent of one CPU
     * @param jvm           Panavisor only: the JVM's committed memory by NMT category, in bytes (empty otherwise)
     * @param vmmSeccomp    VMs: the VMM process's seccomp mode, read from its /proc/PID/status while it idled (0
     *                      none, 2 filter; -1 unknown, and for the other peers, whose workload reports its own)
     */
    public record Memory(double overheadBytes, double pssBytes, double idleCpuPercent, Map<String, Long> jvm,
            int vmmSeccomp) {
        public Memory {
            jvm = jvm == null ? Map.of() : Map.copyOf(jvm);
        }
    }

    /** @param instances idle instances that started within the budgets; stoppedBy: what ended the row */
    public record Density(int instances, double pssPerInstance, double secondsToStartAll, String stoppedBy) {
    }

    /**
     * From one run of the workload script.
     *
     * @param kernel     {@code uname -r} inside
     * @param seccomp    the workload's seccomp mode from /proc/self/status (0 none, 2 filter; -1 unknown)
     * @param ioMode     "direct" (O_DIRECT) or "buffered" (where the file system refused O_DIRECT)
     * @param randReadIops  4 KiB random reads per second, one in flight (NaN: not measured)
     * @param randWriteIops 4 KiB random writes per second, one in flight, fsync at the end counted
     * @param netInMiBps    HTTP download from the host's end of the instance's link (NaN: not measured)
     * @param netOutMiBps   HTTP upload to it
     */
    public record Workload(String kernel, int seccomp, String ioMode, double cpuSeconds, double writeMiBps,
            double readMiBps, double randReadIops, double randWriteIops, double netInMiBps, double netOutMiBps) {
    }
}
