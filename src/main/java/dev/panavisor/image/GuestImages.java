package dev.panavisor.image;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.FileTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Panavisor's default guest: the kernel and root file system built from {@code guest-images/}, on first use,
 * then taken from the cache. This is what {@code panavisor run} boots when given no kernel of its own.
 *
 * <pre>{@code
 * GuestImage guest = GuestImages.forUser(System.err::println).guest(); // builds once (minutes), then instant
 * guest.kernel().bzImage(); guest.rootfs().ext4();
 * }</pre>
 *
 * <p>The kernel and the root file system are separate cache entries with separate keys (see {@link CacheKey}):
 * editing /init rebuilds the root file system in a second, not the kernel in minutes.
 */
public final class GuestImages {
    /**
     * Changes whenever the build steps change in a way that changes their output, so old cache entries are not
     * mistaken for new ones.
     */
    public static final String BUILDER_VERSION = "1";
    /** The time stamped on everything built: 2025-01-01 00:00:00 UTC (reproducible builds' SOURCE_DATE_EPOCH). */
    public static final long SOURCE_DATE_EPOCH = 1_735_689_600L;

    /** The built kernel. {@code config} is the final .config it was built with. */
    public record Kernel(Path bzImage, Path vmlinux, Path config, Path directory) {
        static Kernel in(Path directory) {
            return new Kernel(directory.resolve(KernelBuild.BZIMAGE_FILE), directory.resolve(KernelBuild.VMLINUX_FILE),
                    directory.resolve(KernelBuild.CONFIG_FILE), directory);
        }
    }

    /** The built root file system, as a disk image and as an initramfs. */
    public record Rootfs(Path ext4, Path initramfs, Path directory) {
        static Rootfs in(Path directory) {
            return new Rootfs(directory.resolve(RootfsBuild.EXT4_FILE), directory.resolve(RootfsBuild.INITRAMFS_FILE),
                    directory);
        }
    }

    /** A bootable guest. */
    public record GuestImage(Kernel kernel, Rootfs rootfs) {
    }

    private final ImageCache cache;
    private final ImageSources sources;
    private final Consumer<String> progress;
    private final DebianPackages packages;

    public GuestImages(ImageCache cache, ImageSources sources, Consumer<String> progress) {
        this.cache = cache;
        this.sources = sources;
        this.progress = progress;
        this.packages = new DebianPackages(progress);
    }

    /** The default guest of this user: bundled sources, cache under PANAVISOR_CACHE / XDG_CACHE_HOME / HOME. */
    public static GuestImages forUser(Consumer<String> progress) {
        return new GuestImages(ImageCache.forUser(System.getenv()), ImageSources.bundled(), progress);
    }

    public ImageCache cache() {
        return cache;
    }

    /** Kernel and root file system, each built first if not cached. */
    public GuestImage guest() {
        return new GuestImage(kernel(), rootfs());
    }

    /** The kernel, built first if not cached. */
    public Kernel kernel() {
        sources.parsedFragment(); // a broken fragment fails here, before minutes of building
        KernelBuild build = new KernelBuild(sources, cache, progress);
        KernelBuild.Inputs inputs = build.hostInputs(packages);
        String name = build.key(inputs).name();
        boolean cached = cache.has(name);
        Path entry = cache.getOrProduce(name, progress, directory -> build.build(inputs, name, directory));
        if (!cached) {
            progress.accept("kernel: " + entry);
        }
        return Kernel.in(entry);
    }

    /** The root file system, built first if not cached. */
    public Rootfs rootfs() {
        RootfsBuild build = new RootfsBuild(sources, progress);
        RootfsBuild.Inputs inputs = build.hostInputs(packages);
        String name = build.key(inputs).name();
        Path entry = cache.getOrProduce(name, progress, directory -> {
            // Scratch space inside the entry's temporary directory: a killed build leaves nothing elsewhere.
            Path scratch = Files.createDirectory(directory.resolve(".scratch"));
            try {
                build.build(inputs, directory, scratch);
            } finally {
                FileTree.delete(scratch);
            }
        });
        return Rootfs.in(entry);
    }

    /**
     * The most recently built guest in the cache, without building or installing anything (for
     * {@code panavisor image path} and for quick checks); empty when nothing was built yet.
     */
    public Optional<GuestImage> newestBuilt() {
        Optional<Path> kernel = newestEntry("kernel-");
        Optional<Path> rootfs = newestEntry("rootfs-");
        if (kernel.isEmpty() || rootfs.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new GuestImage(Kernel.in(kernel.get()), Rootfs.in(rootfs.get())));
    }

    private Optional<Path> newestEntry(String prefix) {
        return cache.entries().stream().filter(path -> path.getFileName().toString().startsWith(prefix))
                .max(java.util.Comparator.comparing(GuestImages::modified));
    }

    private static java.nio.file.attribute.FileTime modified(Path path) {
        try {
            return Files.getLastModifiedTime(path);
        } catch (IOException e) {
            return java.nio.file.attribute.FileTime.fromMillis(0);
        }
    }
}
