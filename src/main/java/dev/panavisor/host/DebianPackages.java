package dev.panavisor.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Panavisor's one way to Debian's package tools: which versions are installed, installing the missing ones (the
 * image build's tools, the lab's QEMU and busybox, the comparison's container runtimes), which version apt would
 * fetch, which kernel {@code linux-image-amd64} means now, and downloading and unpacking a package without installing
 * it ({@code apt-get download} + {@code dpkg-deb -x}).
 *
 * <p>Installing follows {@link PackageInstalls}: only as root, never when PANAVISOR_NO_INSTALL=1 (then the caller
 * stops with the one apt-get command to run), and always after a progress line saying what is installed and why.
 */
public final class DebianPackages {
    /** The metapackage that always depends on Debian's current default amd64 kernel. */
    public static final String KERNEL_METAPACKAGE = "linux-image-amd64";
    private static final Map<String, String> NONINTERACTIVE = Map.of("DEBIAN_FRONTEND", "noninteractive");
    /** Another apt run (another lab, another user) may hold the dpkg lock: wait for it instead of failing. */
    static final String LOCK_WAIT = "DPkg::Lock::Timeout=600";

    /** A package name with the version apt would fetch. */
    public record Package(String name, String version) {
        /** A file/directory name that changes whenever the package does ("linux-image-..._6.1.192-3"). */
        public String key() {
            return (name + "_" + version).replaceAll("[^A-Za-z0-9._+-]", "_");
        }
    }

    private final Consumer<String> progress;
    private final boolean root;
    private final boolean installForbidden;
    private boolean updated;

    /** Packages of this host, for this process: root or not, and PANAVISOR_NO_INSTALL, as they are. */
    public DebianPackages(Consumer<String> progress) {
        this(progress, Privileges.isRoot(), PackageInstalls.forbidden());
    }

    /**
     * @param progress         receives the line announcing an install
     * @param root             whether installing is possible at all
     * @param installForbidden whether PANAVISOR_NO_INSTALL=1 is in force (tests pass it rather than set it)
     */
    public DebianPackages(Consumer<String> progress, boolean root, boolean installForbidden) {
        this.progress = progress;
        this.root = root;
        this.installForbidden = installForbidden;
    }

    /** True when apt-get, apt-cache and dpkg-deb are here (a Debian or Ubuntu host). */
    public static boolean available() {
        return HostCommand.find("apt-get").isPresent() && HostCommand.find("apt-cache").isPresent()
                && HostCommand.find("dpkg-deb").isPresent();
    }

    /** The installed version of a package ("6.1.158-1"), or empty when it is not installed. */
    public Optional<String> installedVersion(String name) {
        StringBuilder out = new StringBuilder();
        int status;
        try {
            status = HostCommand.of("dpkg-query", "-W", "-f=${Status}\\t${Version}", name).run(out::append);
        } catch (HostException e) {
            throw new HostException("cannot ask dpkg which packages are installed (" + e.getMessage()
                    + "); Panavisor takes its tools and guest inputs from Debian packages", e);
        }
        String[] fields = out.toString().strip().split("\t");
        // ${Status} is "want flag state": "install ok installed" (or "hold ok installed") when usable.
        if (status != 0 || fields.length != 2 || !fields[0].endsWith(" ok installed")) {
            return Optional.empty();
        }
        return Optional.of(fields[1]);
    }

    /** The installed version of {@code name}, installing it (and nothing else) first if needed. */
    public String require(String name, String purpose) {
        ensureInstalled(List.of(name), purpose);
        return installedVersion(name).orElseThrow(
                () -> new HostException("package " + name + " is still not installed after apt-get install"));
    }

    /** Installs whichever of {@code names} dpkg does not list as installed (see {@link #install}). */
    public void ensureInstalled(List<String> names, String purpose) {
        List<String> missing = names.stream().filter(name -> installedVersion(name).isEmpty()).toList();
        if (!missing.isEmpty()) {
            install(missing, purpose);
        }
    }

    /** Why a process may not install packages; the text is the note the comparison's report shows. */
    public enum Refusal {
        NO_INSTALL(PackageInstalls.NO_INSTALL_VARIABLE + "=1"),
        NOT_ROOT("not running as root (install it with apt-get)"),
        NO_APT("no apt-get on this host");

        private final String note;

        Refusal(String note) {
            this.note = note;
        }

        public String note() {
            return note;
        }
    }

    /**
     * Why this process may not install packages, or empty when it may. Callers that report rather than stop (the
     * comparison's per-package notes) ask this first.
     */
    public Optional<Refusal> refusal() {
        if (installForbidden) {
            return Optional.of(Refusal.NO_INSTALL);
        }
        if (!root) {
            return Optional.of(Refusal.NOT_ROOT);
        }
        if (HostCommand.find("apt-get").isEmpty()) {
            return Optional.of(Refusal.NO_APT);
        }
        return Optional.empty();
    }

    /**
     * What to say when {@code packages} are needed and cannot be installed: "the Debian packages X; install them as
     * root: apt-get install -y X", to follow "... needs ".
     */
    public static String refusalMessage(Refusal refusal, List<String> packages) {
        String names = String.join(" ", packages);
        String command = "apt-get install -y " + names;
        return "the Debian packages " + names + switch (refusal) {
            case NO_INSTALL -> "; " + PackageInstalls.NO_INSTALL_VARIABLE + "=1 forbids installing them: " + command;
            case NOT_ROOT -> "; install them as root: " + command;
            case NO_APT -> " and this host has no apt-get to install them";
        };
    }

    /**
     * Installs {@code packages} (without their recommended ones) for {@code purpose} ("the nested lab"), announcing
     * it first; when this process may not install, fails with the apt-get command to run instead. An install that
     * fails is retried once after 'apt-get update': a fresh machine often has no package lists yet.
     */
    public void install(List<String> packages, String purpose) {
        install(packages, purpose, false);
    }

    /** {@link #install}, with the packages' recommended ones (a container runtime's helpers). */
    public void installWithRecommends(List<String> packages, String purpose) {
        install(packages, purpose, true);
    }

    private void install(List<String> packages, String purpose, boolean recommends) {
        String names = String.join(" ", packages);
        Optional<Refusal> refusal = refusal();
        if (refusal.isPresent()) {
            throw new HostException(purpose + " needs " + refusalMessage(refusal.get(), packages));
        }
        progress.accept("installing the Debian packages " + names + " with apt-get for " + purpose + " ("
                + PackageInstalls.NO_INSTALL_VARIABLE + "=1 prevents this)");
        List<String> command = new ArrayList<>(List.of("apt-get", "install", "-y", "-q", "-o", LOCK_WAIT));
        if (!recommends) {
            command.add("--no-install-recommends");
        }
        command.addAll(packages);
        HostCommand install = HostCommand.of(command).withEnvironment(NONINTERACTIVE);
        StringBuilder log = new StringBuilder();
        if (install.run(line -> log.append(line).append('\n')) == 0) {
            return;
        }
        if (update()) {
            log.setLength(0);
            int status = install.run(line -> log.append(line).append('\n'));
            if (status == 0) {
                return;
            }
        }
        throw new HostException("apt-get install -y " + names + " failed: " + HostCommand.lastLines(log.toString(), 3));
    }

    /** 'apt-get update', once per instance and only as root (others cannot refresh the lists); true if it ran. */
    public boolean update() {
        if (updated || !root) {
            return false;
        }
        HostCommand.of("apt-get", "update", "-q", "-o", LOCK_WAIT).withEnvironment(NONINTERACTIVE).check();
        updated = true;
        return true;
    }

    /** The version apt would install for {@code name}, if it knows the package. */
    public Optional<String> candidate(String name) {
        HostCommand.Result r = HostCommand.of("apt-cache", "policy", name).capture();
        return r.ok() ? candidateVersion(r.stdout()) : Optional.empty();
    }

    /**
     * The kernel package behind {@code linux-image-amd64}, preferring its "-unsigned" twin (same kernel and
     * modules, without the Secure Boot signature wrapper).
     */
    public Package currentKernel() {
        String depends = aptCache("depends", KERNEL_METAPACKAGE);
        String signed = kernelDependency(depends).orElseThrow(() -> new HostException(
                "cannot tell which kernel " + KERNEL_METAPACKAGE + " means: 'apt-cache depends' named none"));
        Optional<String> unsignedVersion = candidate(signed + "-unsigned");
        if (unsignedVersion.isPresent()) {
            return new Package(signed + "-unsigned", unsignedVersion.get());
        }
        return new Package(signed, candidate(signed).orElseThrow(() -> new HostException(
                "apt knows no installable version of " + signed)));
    }

    /** Downloads {@code pkg} into {@code dir} (nothing is installed) and returns the .deb file. */
    public Path download(Package pkg, Path dir) throws IOException {
        List<String> command = new ArrayList<>(List.of("apt-get", "download", "-q"));
        if (root) {
            // apt drops to the _apt user for downloads, which cannot write into a root-owned directory.
            command.addAll(List.of("-o", "APT::Sandbox::User=root"));
        }
        command.add(pkg.name() + "=" + pkg.version());
        HostCommand.of(command).in(dir).check();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith(pkg.name() + "_")
                            && p.getFileName().toString().endsWith(".deb"))
                    .findFirst()
                    .orElseThrow(() -> new HostException("apt-get download left no .deb for " + pkg.name()));
        }
    }

    /** Unpacks a .deb's files into {@code dir} (nothing is installed or registered). */
    public static void extract(Path deb, Path dir) {
        HostCommand.of("dpkg-deb", "-x", deb.toString(), dir.toString()).check();
    }

    private String aptCache(String verb, String name) {
        HostCommand query = HostCommand.of("apt-cache", verb, name);
        HostCommand.Result r = query.capture();
        if ((!r.ok() || r.stdout().isBlank()) && update()) {
            r = query.capture();
        }
        if (!r.ok() || r.stdout().isBlank()) {
            throw new HostException("apt does not know " + name + " (run 'apt-get update' as root): "
                    + HostCommand.lastLine(r.stderr()));
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
    public static Optional<String> candidateVersion(String aptCachePolicy) {
        return aptCachePolicy.lines()
                .map(String::strip)
                .filter(l -> l.startsWith("Candidate:"))
                .map(l -> l.substring("Candidate:".length()).strip())
                .filter(v -> !v.isEmpty() && !v.equals("(none)"))
                .findFirst();
    }
}
