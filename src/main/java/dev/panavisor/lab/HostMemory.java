package dev.panavisor.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The host's physical memory, read from /proc/meminfo (used only to size the lab's defaults). */
final class HostMemory {
    private static final long FALLBACK_MIB = 4096;

    private HostMemory() {
    }

    static long totalMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Not Linux, or an odd /proc: fall back to a size that suits any machine able to run the lab.
        }
        return FALLBACK_MIB;
    }
}
