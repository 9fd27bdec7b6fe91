package dev.panavisor.lab;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.FileTree;
import dev.panavisor.host.HostCommand;
import dev.panavisor.host.HostException;
import dev.panavisor.host.Privileges;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
 * {@code <cache>/qemu/<version>/}, with a {@code complete} marker written last; apt is asked for the current
 * version at most once a week.
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

    private final Path cacheDir;
    private final Consumer<String> progress;

    BackportedQemu(Path cacheDir, Consumer<String> progress) {
        this.cacheDir = cacheDir;
        this.progress = progress;
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
     * had, in which case the caller uses the host's QEMU.
     */
    Optional<Unpacked> find() {
        try {
            Optional<Path> cached = newestComplete();
            if (cached.isPresent() && fresh(cached.get())) {
                return Optional.of(unpacked(cached.get()));
            }
            Optional<String> version = currentVersion();
            if (version.isEmpty()) {
                return cached.map(BackportedQemu::unpacked);
            }
            Path target = cacheDir.resolve("qemu").resolve(version.get().replaceAll("[^A-Za-z0-9._+-]", "_"));
            if (!Files.exists(target.resolve(COMPLETE))) {
                fill(version.get(), target);
            } else {
                Files.setLastModifiedTime(target.resolve(COMPLETE), java.nio.file.attribute.FileTime.from(
                        Instant.now()));
            }
            return Optional.of(unpacked(target));
        } catch (IOException | LabException | HostException e) {
            progress.accept("cannot use QEMU from " + RELEASE + "-backports (" + HostCommand.lastLine(
                    String.valueOf(e.getMessage())) + "); using the host's QEMU");
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

    private Optional<Path> newestComplete() throws IOException {
        Path dir = cacheDir.resolve("qemu");
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(dir)) {
            return versions.filter(d -> Files.exists(d.resolve(COMPLETE)))
                    .max(Comparator.comparing(d -> d.resolve(COMPLETE).toFile().lastModified()));
        }
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

    private void fill(String version, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try (FileChannel lockFile = FileChannel.open(target.getParent().resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock ignored = lockFile.lock()) {
            if (Files.exists(target.resolve(COMPLETE))) {
                return; // another lab unpacked it while we waited
            }
            progress.accept("downloading QEMU " + version + " from " + RELEASE + "-backports (first use)...");
            Path work = Files.createTempDirectory(target.getParent(), ".fill-");
            try {
                List<String> download = new ArrayList<>(apt("apt-get", "download", "-q"));
                PACKAGES.forEach(p -> download.add(p + "/" + RELEASE + "-backports"));
                HostCommand.of(download).in(work).check();
                Path root = work.resolve("root");
                try (Stream<Path> debs = Files.list(work)) {
                    for (Path deb : debs.filter(p -> p.toString().endsWith(".deb")).toList()) {
                        DebianPackages.extract(deb, root);
                    }
                }
                Path binary = root.resolve("usr/bin/qemu-system-x86_64");
                HostCommand.Result runs = HostCommand.of(binary.toString(), "--version").capture();
                if (!runs.ok()) {
                    throw new LabException("the unpacked QEMU does not run on this host: "
                            + HostCommand.lastLine(runs.stderr()));
                }
                FileTree.delete(target);
                Files.createDirectories(target);
                Files.move(root, target.resolve("root"), StandardCopyOption.ATOMIC_MOVE);
                Files.writeString(target.resolve(COMPLETE), version + "\n");
            } finally {
                FileTree.delete(work);
            }
        }
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
