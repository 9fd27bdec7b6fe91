package dev.panavisor.lab;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How to run one lab: the size of the L1 machine, the time limit, which host directories are writable inside,
 * and the command's working directory and environment.
 *
 * <p>Inside the lab the whole host filesystem is visible read-only at its own paths. Directories in
 * {@code writable} (and the working directory) are writable at the same absolute paths, so commands use host paths
 * unchanged; directories in {@code scratch} are writable too but what is written there is thrown away when the
 * lab ends (an overlay on a tmpfs). /tmp inside is private to the lab (the host's /tmp read-through, writes kept in a tmpfs).
 *
 * @param cpus        L1 virtual CPUs (each one a QEMU TCG thread on the host)
 * @param memoryMiB   L1 memory in MiB (allocated by QEMU only as L1 touches it)
 * @param timeout     wall-clock limit from QEMU's start (boot included, first-use downloads not); QEMU is
 *                    stopped when it passes
 * @param workDir     the command's working directory; writable inside
 * @param writable    further host directories writable inside (e.g. the project directory)
 * @param scratch     host directories that are writable inside with changes discarded (e.g. a project whose build
 *                    output must not reach the host)
 * @param environment the command's environment (nothing else is inherited)
 * @param cacheDir    where downloaded packages and the extracted kernel are kept (the lab's cache folder)
 * @param showConsole copy the L1 kernel console to the error stream live, and boot L1 without "quiet"
 * @param tcg         how QEMU's TCG runs L1's vCPUs on host threads ({@link TcgThreads})
 */
public record LabConfig(int cpus, int memoryMiB, Duration timeout, Path workDir, List<Path> writable,
        List<Path> scratch, Map<String, String> environment, Path cacheDir, boolean showConsole, TcgThreads tcg) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(60);
    /** Largest default: enough for a JVM, Maven and a few small L2 guests; QEMU allocates lazily anyway. */
    public static final int DEFAULT_MAX_MEMORY_MIB = 4096;
    public static final int MIN_MEMORY_MIB = 256;

    public LabConfig {
        if (cpus < 1 || cpus > 64) {
            throw new IllegalArgumentException("L1 CPUs must be between 1 and 64, not " + cpus);
        }
        if (memoryMiB < MIN_MEMORY_MIB) {
            throw new IllegalArgumentException("L1 memory must be at least " + MIN_MEMORY_MIB + " MiB, not "
                    + memoryMiB);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the time limit must be positive");
        }
        workDir = workDir.toAbsolutePath().normalize();
        writable = List.copyOf(writable.stream().map(p -> p.toAbsolutePath().normalize()).toList());
        scratch = List.copyOf(scratch.stream().map(p -> p.toAbsolutePath().normalize()).toList());
        environment = Map.copyOf(environment);
        cacheDir = cacheDir.toAbsolutePath().normalize();
    }

    /**
     * Defaults sized for the host: as many L1 CPUs as host CPUs (at most 4: TCG scales poorly beyond that) and a
     * quarter of the host's memory (at most 4 GiB); the current directory as working directory, this process's
     * environment, the standard cache folder, a 60 minute limit.
     */
    public static LabConfig defaults() {
        int cpus = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        long hostMiB = HostMemory.totalMiB();
        int memory = (int) Math.max(MIN_MEMORY_MIB * 4L, Math.min(DEFAULT_MAX_MEMORY_MIB, hostMiB / 4));
        return new LabConfig(cpus, memory, DEFAULT_TIMEOUT, Path.of("").toAbsolutePath(), List.of(), List.of(),
                System.getenv(), defaultCacheDir(), false, TcgThreads.DEFAULT);
    }

    /** ${PANAVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/panavisor}/lab */
    public static Path defaultCacheDir() {
        String explicit = System.getenv("PANAVISOR_CACHE");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit, "lab");
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("panavisor").resolve("lab");
    }

    public LabConfig withCpus(int n) {
        return new LabConfig(n, memoryMiB, timeout, workDir, writable, scratch, environment, cacheDir, showConsole, tcg);
    }

    public LabConfig withMemoryMiB(int mib) {
        return new LabConfig(cpus, mib, timeout, workDir, writable, scratch, environment, cacheDir, showConsole, tcg);
    }

    public LabConfig withTimeout(Duration limit) {
        return new LabConfig(cpus, memoryMiB, limit, workDir, writable, scratch, environment, cacheDir, showConsole, tcg);
    }

    public LabConfig withWorkDir(Path dir) {
        return new LabConfig(cpus, memoryMiB, timeout, dir, writable, scratch, environment, cacheDir, showConsole, tcg);
    }

    public LabConfig withWritable(Path dir) {
        List<Path> more = new ArrayList<>(writable);
        more.add(dir);
        return new LabConfig(cpus, memoryMiB, timeout, workDir, more, scratch, environment, cacheDir, showConsole, tcg);
    }

    public LabConfig withScratch(Path dir) {
        List<Path> more = new ArrayList<>(scratch);
        more.add(dir);
        return new LabConfig(cpus, memoryMiB, timeout, workDir, writable, more, environment, cacheDir, showConsole, tcg);
    }

    public LabConfig withEnvironment(Map<String, String> env) {
        return new LabConfig(cpus, memoryMiB, timeout, workDir, writable, scratch, env, cacheDir, showConsole, tcg);
    }

    /** This environment plus {@code name=value}. */
    public LabConfig withVariable(String name, String value) {
        Map<String, String> env = new LinkedHashMap<>(environment);
        env.put(name, value);
        return withEnvironment(env);
    }

    public LabConfig withCacheDir(Path dir) {
        return new LabConfig(cpus, memoryMiB, timeout, workDir, writable, scratch, environment, dir, showConsole, tcg);
    }

    public LabConfig withShowConsole(boolean show) {
        return new LabConfig(cpus, memoryMiB, timeout, workDir, writable, scratch, environment, cacheDir, show, tcg);
    }

    public LabConfig withTcg(TcgThreads threads) {
        return new LabConfig(cpus, memoryMiB, timeout, workDir, writable, scratch, environment, cacheDir, showConsole,
                threads);
    }
}
