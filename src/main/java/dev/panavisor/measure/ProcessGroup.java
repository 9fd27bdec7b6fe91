package dev.panavisor.measure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The processes that make one instance of a peer: a process and its descendants, plus processes that were started
 * apart from it but carry the instance's name on their command line (podman's conmon double-forks away from the
 * podman process; the container's init is conmon's child). Memory is summed as PSS, the measure that adds up over
 * many instances (the Kata Containers density method), CPU as user plus system clock ticks.
 */
public record ProcessGroup(List<Long> pids) {
    /** USER_HZ: the unit of the CPU times in /proc/PID/stat (proc(5)); 100 on every Linux architecture we run on. */
    public static final int CLOCK_TICKS_PER_SECOND = 100;

    public ProcessGroup {
        pids = List.copyOf(pids);
    }

    /** {@code root}, its descendants, and every process whose command line contains {@code token} (with theirs). */
    public static ProcessGroup of(long root, String token) {
        Set<Long> pids = new LinkedHashSet<>();
        ProcessHandle.of(root).ifPresent(handle -> addTree(handle, pids));
        if (token != null && !token.isEmpty()) {
            ProcessHandle.allProcesses()
                    .filter(p -> p.info().arguments().map(args -> String.join(" ", args).contains(token)).orElse(false))
                    .forEach(p -> addTree(p, pids));
        }
        return new ProcessGroup(new ArrayList<>(pids));
    }

    private static void addTree(ProcessHandle handle, Set<Long> pids) {
        pids.add(handle.pid());
        handle.descendants().forEach(d -> pids.add(d.pid()));
    }

    /** Sum of the processes' PSS, in bytes; processes that ended meanwhile count as nothing. */
    public long pss() {
        long total = 0;
        for (long pid : pids) {
            try {
                total += Smaps.rollupOfProcess(pid).pss();
            } catch (UncheckedIOException gone) {
                // The process ended between listing and reading: it holds no memory any more.
            }
        }
        return total;
    }

    /** User plus system CPU time of the processes so far, in clock ticks ({@link #CLOCK_TICKS_PER_SECOND}). */
    public long cpuTicks() {
        long total = 0;
        for (long pid : pids) {
            try {
                total += cpuTicks(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
            } catch (IOException gone) {
                // Ended: its time is lost with it (a short-lived helper; idle instances keep their processes).
            }
        }
        return total;
    }

    /**
     * utime + stime of one /proc/PID/stat line (fields 14 and 15, proc(5)). The command name (field 2) may hold
     * spaces and parentheses, so fields are counted from the last ')'.
     */
    public static long cpuTicks(String statLine) {
        String[] fields = statLine.substring(statLine.lastIndexOf(')') + 2).strip().split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // fields[0] is field 3
    }
}
