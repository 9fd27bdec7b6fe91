package dev.panavisor.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The lab's only source of software: Debian's package tools. It asks apt which kernel {@code linux-image-amd64}
 * currently means, downloads packages without installing them ({@code apt-get download} + {@code dpkg-deb -x}),
 * and installs the two host tools (QEMU, busybox-static) when it runs as root.
 */
final class DebianPackages {
    /** The metapackage that always depends on Debian's current default amd64 kernel. */
    static final String KERNEL_METAPACKAGE = "linux-image-amd64";
    private static final Map<String, String> NONINTERACTIVE = Map.of("DEBIAN_FRONTEND", "noninteractive");
    /** Another apt run (another lab, another user) may hold the dpkg lock: wait for it instead of failing. */
    private static final String LOCK_WAIT = "DPkg::Lock::Timeout=600";

    /** A package name with the version apt would fetch. */
    record Package(String name, String version) {
        /** A file/directory name that changes whenever the package does ("linux-image-..._6.1.192-3"). */
        String key() {
            return (name + "_" + version).replaceAll("[^A-Za-z0-9._+-]", "_");
        }
    }

    private boolean updated;

    /** True when apt-get and apt-cache are here (a Debian or Ubuntu host). */
    static boolean available() {
        return HostTools.find("apt-get").isPresent() && HostTools.find("apt-cache").isPresent()
                && HostTools.find("dpkg-deb").isPresent();
    }

    /**
     * The kernel package behind {@code linux-image-amd64}, preferring its "-unsigned" twin (same kernel and
     * modules, without the Secure Boot signature wrapper).
     */
    Package currentKernel() {
        String depends = aptCache("depends", KERNEL_METAPACKAGE);
        String signed = kernelDependency(depends).orElseThrow(() -> new LabException(
                "cannot tell which kernel " + KERNEL_METAPACKAGE + " means: 'apt-cache depends' named none"));
        Optional<String> unsignedVersion = candidate(signed + "-unsigned");
        if (unsignedVersion.isPresent()) {
            return new Package(signed + "-unsigned", unsignedVersion.get());
        }
        return new Package(signed, candidate(signed).orElseThrow(() -> new LabException(
                "apt knows no installable version of " + signed)));
    }

    /** Downloads {@code pkg} into {@code dir} and returns the .deb file. */
    Path download(Package pkg, Path dir) throws IOException {
        List<String> command = new ArrayList<>(List.of("apt-get", "download", "-q"));
        if (Privileges.isRoot()) {
            // apt drops to the _apt user for downloads, which cannot write into a root-owned directory.
            command.addAll(List.of("-o", "APT::Sandbox::User=root"));
        }
        command.add(pkg.name() + "=" + pkg.version());
        HostTools.check(command, dir, Map.of());
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith(pkg.name() + "_")
                            && p.getFileName().toString().endsWith(".deb"))
                    .findFirst()
                    .orElseThrow(() -> new LabException("apt-get download left no .deb for " + pkg.name()));
        }
    }

    /** Unpacks a .deb's files into {@code dir} (nothing is installed or registered). */
    void extract(Path deb, Path dir) {
        HostTools.check(List.of("dpkg-deb", "-x", deb.toString(), dir.toString()));
    }

    /** Installs {@code packages} with apt-get (root only), running 'apt-get update' first if apt does not know them. */
    void install(List<String> packages) {
        if (!Privileges.isRoot()) {
            throw new LabException("the lab needs the Debian package(s) " + String.join(" ", packages)
                    + "; install them as root: apt-get install " + String.join(" ", packages));
        }
        List<String> command = new ArrayList<>(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends",
                "-o", LOCK_WAIT));
        command.addAll(packages);
        HostTools.Result first = HostTools.run(command, null, NONINTERACTIVE);
        if (first.ok()) {
            return;
        }
        update();
        HostTools.check(command, null, NONINTERACTIVE);
    }

    /** 'apt-get update', once per instance, when root (others cannot refresh the lists). */
    boolean update() {
        if (updated || !Privileges.isRoot()) {
            return false;
        }
        HostTools.check(List.of("apt-get", "update", "-q", "-o", LOCK_WAIT), null, NONINTERACTIVE);
        updated = true;
        return true;
    }

    /** The version apt would install for {@code name}, if it knows the package. */
    Optional<String> candidate(String name) {
        HostTools.Result r = HostTools.run(List.of("apt-cache", "policy", name));
        return r.ok() ? candidateVersion(r.stdout()) : Optional.empty();
    }

    private String aptCache(String verb, String name) {
        HostTools.Result r = HostTools.run(List.of("apt-cache", verb, name));
        if ((!r.ok() || r.stdout().isBlank()) && update()) {
            r = HostTools.run(List.of("apt-cache", verb, name));
        }
        if (!r.ok() || r.stdout().isBlank()) {
            throw new LabException("apt does not know " + name + " (run 'apt-get update' as root): "
                    + HostTools.lastLine(r.stderr()));
        }
        return r.stdout();
    }

    /** From 'apt-cache depends linux-image-amd64': the first "Depends: linux-image-..." target. */
    static Optional<String> kernelDependency(String aptCacheDepends) {
        return aptCacheDepends.lines()
                .map(String::strip)
                .filter(l -> l.startsWith("Depends:"))
                .map(l -> l.substring("Depends:".length()).strip())
                .filter(target -> target.startsWith("linux-image-") && !target.startsWith("<"))
                .findFirst();
    }

    /** From 'apt-cache policy NAME': the "Candidate:" version, absent when "(none)" or missing. */
    static Optional<String> candidateVersion(String aptCachePolicy) {
        return aptCachePolicy.lines()
                .map(String::strip)
                .filter(l -> l.startsWith("Candidate:"))
                .map(l -> l.substring("Candidate:".length()).strip())
                .filter(v -> !v.isEmpty() && !v.equals("(none)"))
                .findFirst();
    }
}
