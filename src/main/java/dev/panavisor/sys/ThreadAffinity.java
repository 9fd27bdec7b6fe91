package dev.panavisor.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Which CPUs a thread may run on (sched_setaffinity(2)); glibc's wrapper is not linked, the system call is made. */
public final class ThreadAffinity {
    /** sizeof(cpu_set_t) in glibc: a bit for each of 1,024 CPUs. */
    static final long CPU_SET_SIZE = 128;

    private ThreadAffinity() {
    }

    /**
     * Pins the calling thread to one CPU: sched_setaffinity with pid 0, which means the calling thread. Returns 0 or
     * {@code -errno} (EINVAL for a CPU that is not online or not in the process's allowed set).
     */
    public static int pinCallingThread(int cpu) {
        if (cpu < 0 || cpu >= CPU_SET_SIZE * Byte.SIZE) {
            throw new IllegalArgumentException("no CPU " + cpu + " in a cpu_set_t");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(CPU_SET_SIZE);
            mask.set(ValueLayout.JAVA_BYTE, cpu / Byte.SIZE, (byte) (1 << (cpu % Byte.SIZE)));
            return (int) Libc.syscallOrErrno(Syscall.SCHED_SETAFFINITY.number(), 0, CPU_SET_SIZE, mask);
        }
    }

    /**
     * The CPUs this process may run on, from {@code Cpus_allowed_list} in {@code /proc/self/status} ("0-3,6"); without
     * it, 0 to {@link Runtime#availableProcessors()} - 1.
     */
    public static List<Integer> allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return parseCpuList(line.substring(line.indexOf(':') + 1).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // No /proc, or a line this parser does not know: the count below serves.
        }
        List<Integer> cpus = new ArrayList<>();
        for (int cpu = 0; cpu < Runtime.getRuntime().availableProcessors(); cpu++) {
            cpus.add(cpu);
        }
        return cpus;
    }

    /** A kernel CPU list ("0-3,6,8-9", as in /proc and sysfs) as CPU numbers. */
    static List<Integer> parseCpuList(String list) {
        List<Integer> cpus = new ArrayList<>();
        for (String part : list.split(",")) {
            String[] range = part.split("-");
            int first = Integer.parseInt(range[0].trim());
            int last = range.length > 1 ? Integer.parseInt(range[1].trim()) : first;
            for (int cpu = first; cpu <= last; cpu++) {
                cpus.add(cpu);
            }
        }
        return cpus;
    }
}
