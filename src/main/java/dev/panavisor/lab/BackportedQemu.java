package dev.panavisor.lab;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.FileCache;
import dev.panavisor.host.FileTree;
import dev.panavisor.host.HostCommand;
import dev.panavisor.host.HostException;
import dev.panavisor.host.Privileges;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A newer QEMU for the lab than the host's release ships: Debian's backport, downloaded and unpacked into the lab's
 * cache ({@code apt-get download} + {@code dpkg-deb -x}), never installed, and run with its own firmware
 * directories ({@code -L}).
 *
 * <p>Why: on Debian 12 the host's QEMU is 7.2, and under it, with several labs sharing two cores, a whole L1 now
 * and then stops making progress and JVMs inside L1 die in freshly JIT-compiled code (docs/lab.md, "Stalls" and
 * "JVM crashes inside L1"); both point at multi-threaded TCG running stale translations of code another vCPU
 * rewrote. Under bookworm-backports' QEMU 10 the same stress ran without either (measured there). On any release
 * other than bookworm the host's own QEMU is used.
 *
 * <p>apt runs with a private configuration under {@code <cache>/apt}: a sources list naming only the backports suite
 * (signed by the Debian archive keyring the host already trusts), and its own lists and archives directories, so
 * the host's apt state is neither read for sources nor changed. The unpacked tree lives in
 * {@code <cache>/qemu/<version>/}, an entry of a {@link FileCache} with a {@code complete} marker written last
 * (holding the version) and the lock file {@code qemu/.lock}; apt is asked for the current version at most once a
 * week.
 */
final class BackportedQemu {
    /** What a lab needs from QEMU's packages: the emulator, its common files, its firmware, SeaBIOS. */
    static final List<String> PACKAGES = List.of("qemu-system-x86", "qemu-system-common", "qemu-system-data",
            "seabios");
    /** The only release whose QEMU (7.2) is replaced. */
    static final String RELEASE = "bookworm";
    static final String MIRROR = "http://deb.debian.org/debian";
    static final String KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
    /** PANAVISOR_LAB_QEMU=host keeps the host's QEMU (to compare the two). */
    static final String OVERRIDE = "PANAVISOR_LAB_QEMU";
    private static final String COMPLETE = "complete";
    private static final Duration RECHECK = Duration.ofDays(7);

    /** The unpacked emulator. */
    record Unpacked(Path binary, List<Path> firmwareDirs, String version) {
    }

    /** Asks apt for the backport's current version (tests put a failing one in its place). */
    interface VersionCheck {
        Optional<String> currentVersion() throws IOException;
    }

    private final Path cacheDir;
    private final Consumer<String> progress;
    private final FileCache unpackedTrees;
    private final VersionCheck versionCheck;

    BackportedQemu(Path cacheDir, Consumer<String> progress) {
        this(cacheDir, progress, null);
    }

    BackportedQemu(Path cacheDir, Consumer<String> progress, VersionCheck versionCheck) {
        this.cacheDir = cacheDir;
        this.progress = progress;
        this.versionCheck = versionCheck != null ? versionCheck : this::currentVersion;
        Path trees = cacheDir.resolve("qemu");
        this.unpackedTrees = FileCache.at(trees).completedBy(COMPLETE).lockedBy(trees.resolve(".lock"))
                .tellingWaits(progress);
    }

    /** Whether this host wants the backport: Debian bookworm, and not told otherwise. */
    static boolean wanted(String osRelease, Map<String, String> environment) {
        if ("host".equals(environment.get(OVERRIDE))) {
            return false;
        }
        return osRelease.lines().map(String::strip)
                .anyMatch(l -> l.equals("VERSION_CODENAME=" + RELEASE) || l.equals("VERSION_CODENAME=\"" + RELEASE
                        + "\""));
    }

    /**
     * The backported QEMU, downloading it on first use; empty (with one progress line saying why) when it cannot be
     * had, in which case the caller uses the host's QEMU. A cached one is used when the weekly check for a newer
     * version fails (a host offline, a mirror down), with one line: the backport is why the lab is stable here.
     */
    Optional<Unpacked> find() {
        Optional<Path> cached = Optional.empty();
        try {
            cached = newestComplete();
            if (cached.isPresent() && fresh(cached.get())) {
                return Optional.of(unpacked(cached.get()));
            }
            Optional<String> version = versionCheck.currentVersion();
            if (version.isEmpty()) {
                return cached.map(BackportedQemu::unpacked);
            }
            Path target = unpackedTrees.entry(version.get().replaceAll("[^A-Za-z0-9._+-]", "_"));
            if (!unpackedTrees.isComplete(target)) {
                fill(version.get(), target.getFileName().toString());
            } else {
                Files.setLastModifiedTime(target.resolve(COMPLETE), java.nio.file.attribute.FileTime.from(
                        Instant.now()));
            }
            return Optional.of(unpacked(target));
        } catch (IOException | LabException | HostException e) {
            String why = HostCommand.lastLine(String.valueOf(e.getMessage()));
            if (cached.isPresent()) {
                Unpacked kept = unpacked(cached.get());
                progress.accept("cannot get a newer QEMU from " + RELEASE + "-backports (" + why + "); using QEMU "
                        + kept.version() + " from the cache");
                return Optional.of(kept);
            }
            progress.accept("cannot use QEMU from " + RELEASE + "-backports (" + why + "); using the host's QEMU");
            return Optional.empty();
        }
    }

    private static Unpacked unpacked(Path dir) {
        Path root = dir.resolve("root");
        String version;
        try {
            version = Files.readString(dir.resolve(COMPLETE)).strip();
        } catch (IOException e) {
            version = dir.getFileName().toString();
        }
        return new Unpacked(root.resolve("usr/bin/qemu-system-x86_64"),
                List.of(root.resolve("usr/share/qemu"), root.resolve("usr/share/seabios")), version);
    }

    private boolean fresh(Path dir) throws IOException {
        Instant checked = Files.getLastModifiedTime(dir.resolve(COMPLETE)).toInstant();
        return checked.plus(RECHECK).isAfter(Instant.now());
    }

    private Optional<Path> newestComplete() {
        return unpackedTrees.completeEntries().stream()
                .max(Comparator.comparing(d -> d.resolve(COMPLETE).toFile().lastModified()));
    }

    /** The backport's version of qemu-system-x86, after refreshing the private package list. */
    private Optional<String> currentVersion() throws IOException {
        HostCommand.Result update = HostCommand.of(apt("apt-get", "update", "-q")).capture();
        if (!update.ok()) {
            throw new LabException("apt-get update of " + RELEASE + "-backports failed: "
                    + HostCommand.lastLine(update.stderr()));
        }
        HostCommand.Result policy = HostCommand.of(apt("apt-cache", "policy", PACKAGES.getFirst())).capture();
        return policy.ok() ? DebianPackages.candidateVersion(policy.stdout()) : Optional.empty();
    }

    private void fill(String version, String name) {
        unpackedTrees.getOrProduce(name, version, entry -> {
            progress.accept("downloading QEMU " + version + " from " + RELEASE + "-backports (first use)...");
            Path debs = Files.createDirectory(entry.resolve(".debs"));
            Path root = entry.resolve("root");
            try {
                List<String> download = new ArrayList<>(apt("apt-get", "download", "-q"));
                PACKAGES.forEach(p -> download.add(p + "/" + RELEASE + "-backports"));
                HostCommand.of(download).in(debs).check();
                try (Stream<Path> files = Files.list(debs)) {
                    for (Path deb : files.filter(p -> p.toString().endsWith(".deb")).toList()) {
                        DebianPackages.extract(deb, root);
                    }
                }
            } finally {
                FileTree.delete(debs);
            }
            Path binary = root.resolve("usr/bin/qemu-system-x86_64");
            HostCommand.Result runs = HostCommand.of(binary.toString(), "--version").capture();
            if (!runs.ok()) {
                throw new LabException("the unpacked QEMU does not run on this host: "
                        + HostCommand.lastLine(runs.stderr()));
            }
        });
    }

    /** An apt command with the private configuration: backports sources only, private lists and archives. */
    private List<String> apt(String... words) throws IOException {
        Path dir = cacheDir.resolve("apt");
        Path lists = dir.resolve("lists");
        Path archives = dir.resolve("archives");
        Path parts = dir.resolve("sources.list.d");
        Files.createDirectories(lists.resolve("partial"));
        Files.createDirectories(archives.resolve("partial"));
        Files.createDirectories(parts);
        Path sources = dir.resolve("sources.list");
        Files.writeString(sources, "deb [signed-by=" + KEYRING + "] " + MIRROR + " " + RELEASE + "-backports main\n");
        List<String> command = new ArrayList<>(List.of(words));
        command.addAll(List.of("-o", "Dir::Etc::SourceList=" + sources, "-o", "Dir::Etc::SourceParts=" + parts,
                "-o", "Dir::State::Lists=" + lists, "-o", "Dir::Cache::Archives=" + archives,
                "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache="));
        if (Privileges.isRoot()) {
            command.addAll(List.of("-o", "APT::Sandbox::User=root"));
        }
        return command;
    }
}
