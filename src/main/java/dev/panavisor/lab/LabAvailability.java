package dev.panavisor.lab;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.HostException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Whether a lab can be had on this host, decided cheaply (no downloads, no apt queries): the tools are here or can
 * be installed (root with apt, and PANAVISOR_NO_INSTALL not set), and a kernel is cached or can be downloaded (apt).
 *
 * @param available true when {@link Lab#run} can be expected to work
 * @param detail    what is there or what is missing, for one line of output (e.g. in {@code panavisor check})
 */
public record LabAvailability(boolean available, String detail) {
    /** Probes this host with the lab's standard cache folder. */
    public static LabAvailability probe() {
        return probe(LabConfig.defaultCacheDir());
    }

    public static LabAvailability probe(Path cacheDir) {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")
                || !isX86_64()) {
            return new LabAvailability(false, "the lab needs an x86-64 Linux host");
        }
        boolean apt = DebianPackages.available();
        List<String> missing = AssetCache.missingHostPackages();
        Optional<DebianPackages.Refusal> refusal = missing.isEmpty() ? Optional.empty()
                : new DebianPackages(line -> { }).refusal();
        if (refusal.isPresent()) {
            return new LabAvailability(false, "needs " + DebianPackages.refusalMessage(refusal.get(), missing));
        }
        boolean kernelCached = hasCachedKernel(cacheDir);
        if (!kernelCached && !apt) {
            return new LabAvailability(false, "needs Debian's kernel package, and this host has no apt to fetch it");
        }
        String tools = missing.isEmpty() ? "QEMU and busybox-static installed"
                : "will install " + String.join(" ", missing) + " on first use";
        String kernel = kernelCached ? "kernel cached" : "kernel downloaded on first use";
        return new LabAvailability(true, tools + ", " + kernel);
    }

    private static boolean hasCachedKernel(Path cacheDir) {
        try {
            return !AssetCache.kernelCache(cacheDir).completeEntries().isEmpty();
        } catch (HostException e) {
            return false;
        }
    }

    /** The lab boots an x86-64 kernel under qemu-system-x86_64; other host architectures are not supported. */
    private static boolean isX86_64() {
        String arch = System.getProperty("os.arch", "");
        return arch.equals("amd64") || arch.equals("x86_64");
    }
}
