package dev.panavisor.lab;


import dev.panavisor.PanavisorException;
import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.FileCache;
import dev.panavisor.host.FileTree;
import dev.panavisor.host.HostCommand;
import dev.panavisor.host.HostException;
import dev.panavisor.host.StaticElf;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Finds or fetches the lab's assets: QEMU and busybox-static on the host (installed with apt-get when missing and
 * running as root), and Debian's current kernel with the modules the lab loads, unpacked into the cache.
 *
 * <p>Cache layout, under the lab's cache folder: {@code kernel/<package>_<version>.<staging>/} holding
 * {@code vmlinux} (or {@code vmlinuz}), {@code modules/<name>.ko}, {@code modules.order} and a {@code complete}
 * marker written last; {@code kernel/current} remembers apt's answer to "which kernel is current" until the apt
 * lists change. A new Debian kernel gets a new folder. The folders are entries of a {@link FileCache}: filled in a
 * temporary directory, renamed into place, marked complete, under the lock file {@code .lock} that older versions
 * of the lab take too, so concurrent labs download once and a half-written folder never counts.
 */
public final class AssetCache {
    /** Modules the L1 init loads; their dependencies are added from the modules' own depends= fields. */
    static final List<String> WANTED_MODULES = List.of("virtio_pci", "9pnet_virtio", "9p", "overlay", "kvm_amd",
            "virtio_console", "tun", "veth");
    /**
     * Names the staging recipe in the cache folder's name: a kernel staged with another module list is another
     * folder, so labs of older and newer Panavisor versions can share one cache. Bump it with {@link #WANTED_MODULES}.
     * (2: virtio_console, for the command's stdin. 3: tun, for TAP interfaces: run --net and its lab tests. 4: veth,
     * for the containers' link in {@code bench compare}'s network rows.)
     */
    static final String STAGING = "s4";
    static final String QEMU = "qemu-system-x86_64";
    static final String QEMU_PACKAGE = "qemu-system-x86";
    static final String BUSYBOX_PACKAGE = "busybox-static";
    /** Why the lab installs packages, for the line that announces it. */
    static final String PURPOSE = "the nested lab (QEMU with a busybox init)";
    private static final List<Path> BUSYBOX_PATHS = List.of(Path.of("/bin/busybox"), Path.of("/usr/bin/busybox"));
    private static final String COMPLETE = "complete";
    private static final Path APT_LISTS = Path.of("/var/lib/apt/lists");
    /** Serializes installs and the backported QEMU's private apt runs between labs of this JVM. */
    private static final Object IN_PROCESS = new Object();

    private final Path cacheDir;
    private final Consumer<String> progress;
    private final DebianPackages apt;
    private final FileCache kernels;

    /**
     * @param cacheDir the lab's cache folder
     * @param progress receives one line per slow step (downloads, installs), for the user to see
     */
    public AssetCache(Path cacheDir, Consumer<String> progress) {
        this(cacheDir, progress, new DebianPackages(progress));
    }

    AssetCache(Path cacheDir, Consumer<String> progress, DebianPackages apt) {
        this.cacheDir = cacheDir;
        this.progress = progress;
        this.apt = apt;
        this.kernels = kernelCache(cacheDir).tellingWaits(progress);
    }

    /** The staged kernels: complete once marked, filled under the lab folder's one lock, which older labs take too. */
    static FileCache kernelCache(Path cacheDir) {
        return FileCache.at(cacheDir.resolve("kernel")).completedBy(COMPLETE).lockedBy(cacheDir.resolve(".lock"));
    }

    /** Resolves every asset, installing and downloading what is missing; fails with a {@link LabException}. */
    public LabAssets resolve() {
        try {
            return resolveOnHost();
        } catch (HostException e) {
            // Lab.run's callers (panavisor lab, run --exec through the lab) report a lab failure as LabException,
            // with the lab's own exit status: a package or download failure is one, whichever class found it.
            throw new LabException(e.getMessage(), e);
        }
    }

    private LabAssets resolveOnHost() {
        ensureHostPackages();
        Path qemu = HostCommand.find(QEMU).orElseThrow(() -> new LabException(
                QEMU + " is still missing after installing " + QEMU_PACKAGE));
        Path busybox = staticBusybox().orElseThrow(() -> new LabException(
                "no statically linked busybox after installing " + BUSYBOX_PACKAGE));
        Optional<BackportedQemu.Unpacked> newer = newerQemu();
        return kernel(newer.map(BackportedQemu.Unpacked::binary).orElse(qemu),
                newer.map(BackportedQemu.Unpacked::firmwareDirs).orElse(List.of()), busybox);
    }

    /** On Debian 12, QEMU from bookworm-backports ({@link BackportedQemu}); elsewhere nothing. */
    private Optional<BackportedQemu.Unpacked> newerQemu() {
        String osRelease;
        try {
            osRelease = Files.readString(Path.of("/etc/os-release"));
        } catch (IOException e) {
            return Optional.empty();
        }
        if (!BackportedQemu.wanted(osRelease, System.getenv()) || !DebianPackages.available()) {
            return Optional.empty();
        }
        synchronized (IN_PROCESS) {
            return new BackportedQemu(cacheDir, progress).find();
        }
    }

    /** What is missing on this host for the lab, as Debian package names (empty when all is there). */
    static List<String> missingHostPackages() {
        List<String> missing = new ArrayList<>();
        if (HostCommand.find(QEMU).isEmpty()) {
            missing.add(QEMU_PACKAGE);
        }
        if (staticBusybox().isEmpty()) {
            missing.add(BUSYBOX_PACKAGE);
        }
        return missing;
    }

    private void ensureHostPackages() {
        synchronized (IN_PROCESS) {
            installMissing();
        }
    }

    private void installMissing() {
        List<String> missing = missingHostPackages();
        if (!missing.isEmpty()) {
            install(missing);
        }
    }

    /** Installs the host tools the lab lacks, by the rule every install follows (root, PANAVISOR_NO_INSTALL). */
    void install(List<String> missing) {
        apt.install(missing, PURPOSE);
    }

    static Optional<Path> staticBusybox() {
        return staticBusybox(BUSYBOX_PATHS);
    }

    /** The first of {@code candidates} that is a regular file and a static ELF; a seam for the test of the choice. */
    static Optional<Path> staticBusybox(List<Path> candidates) {
        return candidates.stream().filter(Files::isRegularFile).filter(StaticElf::isStatic).findFirst();
    }

    private LabAssets kernel(Path qemu, List<Path> firmwareDirs, Path busybox) {
        Optional<DebianPackages.Package> current = Optional.empty();
        PanavisorException aptFailure = null;
        try {
            current = Optional.of(currentKernel());
        } catch (LabException | HostException e) {
            aptFailure = e; // offline or no apt: a kernel cached earlier still serves
        }
        Path dir;
        String name;
        if (current.isPresent()) {
            name = current.get().name() + " " + current.get().version();
            dir = kernels.entry(current.get().key() + "." + STAGING);
            if (!kernels.isComplete(dir)) {
                try {
                    fill(current.get(), dir.getFileName().toString());
                } catch (LabException | HostException e) {
                    // Offline, say, with a kernel staged by another recipe in the cache: a lab that lacks a newer
                    // module (init.sh copes: no stdin port means /dev/null) beats no lab.
                    Optional<Path> older = newestCachedKernel();
                    if (older.isEmpty()) {
                        throw e;
                    }
                    progress.accept("cannot stage " + name + " (" + e.getMessage() + "); using the cached "
                            + older.get().getFileName());
                    dir = older.get();
                    name = dir.getFileName().toString();
                }
            }
        } else {
            String why = aptFailureMessage(aptFailure);
            dir = newestCachedKernel().orElseThrow(() -> new LabException(
                    "cannot find Debian's kernel package and none is cached: " + why));
            name = dir.getFileName().toString();
        }
        try {
            Path kernel = Files.exists(dir.resolve("vmlinux")) ? dir.resolve("vmlinux") : dir.resolve("vmlinuz");
            List<String> order = Files.readAllLines(dir.resolve("modules.order")).stream()
                    .filter(l -> !l.isBlank()).toList();
            return new LabAssets(qemu, firmwareDirs, busybox, kernel, name, dir.resolve("modules"), order);
        } catch (IOException e) {
            throw new LabException("cached kernel in " + dir + " is unreadable: " + e.getMessage(), e);
        }
    }

    /**
     * Which kernel package is current, asking apt only when its package lists changed since the last answer:
     * apt-cache takes about a second per question here, longer than the rest of the lab's host-side startup.
     * The answer is stored with the lists directory's modification time, which apt-get update changes.
     */
    private DebianPackages.Package currentKernel() {
        Path memo = cacheDir.resolve("kernel").resolve("current");
        String listsStamp = listsStamp();
        try {
            if (listsStamp != null && Files.exists(memo)) {
                String[] fields = Files.readString(memo).strip().split(" ");
                if (fields.length == 3 && fields[0].equals(listsStamp)) {
                    return new DebianPackages.Package(fields[1], fields[2]);
                }
            }
            DebianPackages.Package pkg = apt.currentKernel();
            String stamp = listsStamp(); // apt may have run 'apt-get update' meanwhile
            if (stamp != null) {
                Files.createDirectories(memo.getParent());
                Path tmp = Files.createTempFile(memo.getParent(), ".current", "");
                Files.writeString(tmp, stamp + " " + pkg.name() + " " + pkg.version() + "\n");
                Files.move(tmp, memo, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            return pkg;
        } catch (IOException e) {
            return apt.currentKernel();
        }
    }

    private static String listsStamp() {
        try {
            return Long.toString(Files.getLastModifiedTime(APT_LISTS).toMillis());
        } catch (IOException e) {
            return null;
        }
    }

    private static String aptFailureMessage(PanavisorException e) {
        return e == null ? "apt is not available" : e.getMessage();
    }

    /** The newest complete kernel folder, preferring this staging recipe; empty when none can be listed. */
    private Optional<Path> newestCachedKernel() {
        try {
            return kernels.completeEntries().stream()
                    .max(Comparator.comparing((Path d) -> d.getFileName().toString().endsWith("." + STAGING))
                            .thenComparing(d -> kernels.completion(d).toFile().lastModified()));
        } catch (HostException e) {
            return Optional.empty(); // only asked when something failed already: that failure is the one to report
        }
    }

    /** Downloads, unpacks and trims one kernel package into the cache entry {@code name}. */
    private void fill(DebianPackages.Package pkg, String name) {
        kernels.getOrProduce(name, pkg.name() + " " + pkg.version(), staged -> {
            // The package is unpacked inside the entry's temporary directory: a killed lab leaves nothing elsewhere.
            Path work = Files.createDirectory(staged.resolve(".package"));
            try {
                progress.accept("downloading " + pkg.name() + " " + pkg.version() + " (first use)...");
                Path deb = apt.download(pkg, work);
                Path root = work.resolve("root");
                DebianPackages.extract(deb, root);
                Files.delete(deb);
                stageKernel(root, staged);
            } finally {
                FileTree.delete(work);
            }
        });
    }

    /** From an unpacked kernel package: vmlinux (or the bzImage), the needed modules and their load order. */
    static void stageKernel(Path packageRoot, Path staged) throws IOException {
        Path boot = packageRoot.resolve("boot");
        Path vmlinuz = findOne(boot, "vmlinuz-");
        Path config = findOne(boot, "config-");
        String release = vmlinuz.getFileName().toString().substring("vmlinuz-".length());
        Path modulesRoot = Stream.of(packageRoot.resolve("lib/modules"), packageRoot.resolve("usr/lib/modules"))
                .map(p -> p.resolve(release)).filter(Files::isDirectory).findFirst()
                .orElseThrow(() -> new LabException("kernel package has no modules for " + release));
        Files.createDirectories(staged.resolve("modules"));

        if (Files.readString(config, StandardCharsets.UTF_8).contains("\nCONFIG_PVH=y")) {
            KernelImage.extractVmlinux(vmlinuz, staged.resolve("vmlinux"));
        } else {
            Files.copy(vmlinuz, staged.resolve("vmlinuz")); // no PVH entry: boot the bzImage (slower)
        }

        Map<String, Path> files = moduleFiles(modulesRoot);
        Set<String> builtin = builtinModules(modulesRoot);
        Map<String, KernelModule> modules = new HashMap<>();
        Deque<String> todo = new ArrayDeque<>(WANTED_MODULES);
        while (!todo.isEmpty()) {
            String name = KernelModule.normalize(todo.pop());
            if (modules.containsKey(name)) {
                continue;
            }
            if (builtin.contains(name)) {
                modules.put(name, new KernelModule(name, List.of()));
                continue;
            }
            Path file = files.get(name);
            if (file == null) {
                continue; // ModuleOrder reports it, naming who needed it
            }
            Path ko = staged.resolve("modules").resolve(name + ".ko");
            uncompressedModule(file, ko);
            KernelModule module = KernelModule.parse(Files.readAllBytes(ko), name);
            modules.put(name, module);
            todo.addAll(module.depends());
        }
        List<String> order = ModuleOrder.resolve(WANTED_MODULES, modules).stream()
                .filter(n -> !builtin.contains(n)).toList();
        Files.write(staged.resolve("modules.order"), order);
    }

    private static Path findOne(Path dir, String prefix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix)).findFirst()
                    .orElseThrow(() -> new LabException("kernel package has no " + dir + "/" + prefix + "*"));
        }
    }

    private static Map<String, Path> moduleFiles(Path modulesRoot) throws IOException {
        Map<String, Path> files = new HashMap<>();
        try (Stream<Path> all = Files.walk(modulesRoot)) {
            all.filter(Files::isRegularFile)
                    .filter(p -> p.getFileName().toString().matches(".*\\.ko(\\.(xz|zst|gz))?"))
                    .forEach(p -> files.putIfAbsent(KernelModule.nameOfFile(p.getFileName().toString()), p));
        }
        return files;
    }

    /** Modules compiled into the kernel (modules.builtin lists their would-be paths): nothing to load. */
    private static Set<String> builtinModules(Path modulesRoot) throws IOException {
        Path list = modulesRoot.resolve("modules.builtin");
        Set<String> names = new HashSet<>();
        if (Files.exists(list)) {
            for (String line : Files.readAllLines(list)) {
                if (!line.isBlank()) {
                    names.add(KernelModule.nameOfFile(Path.of(line.strip()).getFileName().toString()));
                }
            }
        }
        return names;
    }

    private static void uncompressedModule(Path file, Path ko) throws IOException {
        String name = file.getFileName().toString();
        if (name.endsWith(".ko")) {
            Files.copy(file, ko);
            return;
        }
        HostCommand command = name.endsWith(".xz") ? HostCommand.of("xz", "-dc")
                : name.endsWith(".zst") ? HostCommand.of("zstd", "-dcq") : HostCommand.of("gzip", "-dc");
        try (var out = Files.newOutputStream(ko)) {
            command.pipe(Files.readAllBytes(file), out);
        }
    }
}
