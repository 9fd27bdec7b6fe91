package dev.panavisor.image;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.FileTree;
import dev.panavisor.host.HostCommand;
import dev.panavisor.host.HostException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Builds the guest kernel from Debian's {@code linux-source-6.1}: {@code make tinyconfig}, the fragment of
 * {@code guest-images/kernel.fragment} appended, {@code make olddefconfig}, a check that every option of the
 * fragment survived, then {@code make bzImage} on all cores.
 *
 * <p>The source tarball is unpacked once per source version into the cache's work area and never written to:
 * each build uses its own object directory ({@code make O=}), at a fixed path per cache key so the path cannot
 * leak into the output. Build time, user and host come from the environment (Linux
 * Documentation/kbuild/reproducible-builds.rst), so the same inputs give the same bytes.
 */
public final class KernelBuild {
    public static final String BZIMAGE_FILE = "bzImage";
    public static final String VMLINUX_FILE = "vmlinux";
    public static final String CONFIG_FILE = "config";
    public static final String LOG_FILE = "build.log";

    static final String SOURCE_PACKAGE = "linux-source-6.1";
    static final Path SOURCE_TARBALL = Path.of("/usr/src/linux-source-6.1.tar.xz");
    /** The directory the tarball unpacks to. */
    static final String SOURCE_DIRECTORY = "linux-source-6.1";
    static final List<String> BUILD_PACKAGES = List.of("build-essential", "flex", "bison", "bc", "libelf-dev",
            "libssl-dev", "xz-utils");

    /** How often the progress line is repeated while make runs. */
    private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(10);

    private final ImageSources sources;
    private final ImageCache cache;
    private final Consumer<String> progress;

    public KernelBuild(ImageSources sources, ImageCache cache, Consumer<String> progress) {
        this.sources = sources;
        this.cache = cache;
        this.progress = progress;
    }

    /** The inputs besides the fragment whose change makes a different kernel. */
    public record Inputs(String sourceVersion, String gccVersion) {
    }

    /** Finds the inputs on this host, installing the source and the build tools if needed (as root). */
    public Inputs hostInputs(DebianPackages packages) {
        String version = packages.require(SOURCE_PACKAGE, "the guest kernel");
        packages.ensureInstalled(BUILD_PACKAGES, "building the guest kernel");
        return new Inputs(version, HostCommand.of("gcc", "-dumpfullversion").output().strip());
    }

    public CacheKey key(Inputs inputs) {
        return CacheKey.of("kernel")
                .add("builder", GuestImages.BUILDER_VERSION)
                .add("source", SOURCE_PACKAGE + " " + inputs.sourceVersion())
                .add("fragment", sources.kernelFragment())
                .add("gcc", inputs.gccVersion());
    }

    /** The environment that pins everything kbuild would take from the clock, the user or the host. */
    static Map<String, String> reproducibleEnvironment() {
        String timestamp = DateTimeFormatter.ofPattern("EEE MMM d HH:mm:ss 'UTC' yyyy", java.util.Locale.ROOT)
                .format(Instant.ofEpochSecond(GuestImages.SOURCE_DATE_EPOCH).atZone(ZoneOffset.UTC));
        return Map.of(
                "KBUILD_BUILD_TIMESTAMP", timestamp,
                "KBUILD_BUILD_USER", "panavisor",
                "KBUILD_BUILD_HOST", "panavisor",
                "KBUILD_BUILD_VERSION", "1",
                "SOURCE_DATE_EPOCH", Long.toString(GuestImages.SOURCE_DATE_EPOCH),
                "LC_ALL", "C",
                "TZ", "UTC");
    }

    /** Builds bzImage, vmlinux and the final config into {@code output}; {@code name} is the cache entry name. */
    public void build(Inputs inputs, String name, Path output) throws IOException {
        KernelConfigFragment fragment = sources.parsedFragment();
        Path source = unpackedSource(inputs.sourceVersion());
        Path objects = cache.workDirectory(name);
        FileTree.delete(objects); // left over from an interrupted build
        Files.createDirectories(objects);
        // The log lives next to the object directory, not in the entry: a failed build's entry is deleted, its log
        // must stay for reading.
        Path log = objects.resolveSibling(name + ".log");
        Instant start = Instant.now();
        try (BufferedWriter logWriter = Files.newBufferedWriter(log)) {
            Make make = new Make(source, objects, logWriter);
            progress.accept("kernel: configuring (tinyconfig + " + fragment.options().size() + " options)");
            make.run("tinyconfig");
            Files.writeString(objects.resolve(".config"), "\n# Panavisor guest fragment\n" + fragment.configLines(),
                    java.nio.file.StandardOpenOption.APPEND);
            make.run("olddefconfig");
            String finalConfig = Files.readString(objects.resolve(".config"));
            List<String> problems = fragment.verify(KernelConfigFragment.parseDotConfig(finalConfig));
            if (!problems.isEmpty()) {
                throw new ImageException("the kernel config lost options of " + sources.origin() + "/"
                        + ImageSources.FRAGMENT_FILE + ": " + String.join("; ", problems));
            }
            Files.writeString(output.resolve(CONFIG_FILE), finalConfig);
            int cores = Runtime.getRuntime().availableProcessors();
            progress.accept("kernel: compiling " + SOURCE_PACKAGE + " " + inputs.sourceVersion() + " with " + cores
                    + " jobs (a few minutes; log: " + log + ")");
            make.run("-j" + cores, "bzImage");
            Files.copy(objects.resolve("arch/x86/boot/bzImage"), output.resolve(BZIMAGE_FILE),
                    StandardCopyOption.REPLACE_EXISTING);
            Files.copy(objects.resolve("vmlinux"), output.resolve(VMLINUX_FILE), StandardCopyOption.REPLACE_EXISTING);
        } catch (ImageException | HostException e) {
            throw new ImageException(e.getMessage() + " (full log: " + log + ")", e);
        } finally {
            FileTree.delete(objects); // ~100 MB of objects; the next build starts from scratch anyway
        }
        Files.move(log, output.resolve(LOG_FILE), StandardCopyOption.REPLACE_EXISTING);
        progress.accept("kernel: built in " + formatDuration(Duration.between(start, Instant.now())));
    }

    /** The source tree for this version, unpacked on first use (into a temporary directory, then renamed). */
    private Path unpackedSource(String version) throws IOException {
        Path tree = cache.workDirectory(SOURCE_DIRECTORY + "_" + version.replaceAll("[^A-Za-z0-9.+-]", "_"));
        if (Files.isDirectory(tree)) {
            return tree;
        }
        if (!Files.isRegularFile(SOURCE_TARBALL)) {
            throw new ImageException(SOURCE_TARBALL + " is missing although " + SOURCE_PACKAGE
                    + " is installed; reinstall it: apt-get install --reinstall " + SOURCE_PACKAGE);
        }
        progress.accept("kernel: unpacking " + SOURCE_TARBALL + " (once per source version)");
        Files.createDirectories(tree.getParent());
        Path temporary = Files.createTempDirectory(tree.getParent(), "unpack-");
        try {
            HostCommand.of("tar", "-xJf", SOURCE_TARBALL.toString(), "-C", temporary.toString()).check();
            moveUnlessThere(temporary.resolve(SOURCE_DIRECTORY), tree);
        } finally {
            FileTree.delete(temporary);
        }
        return tree;
    }

    /**
     * Renames the unpacked {@code tree} to {@code place}, unless another build (of another kernel key, from the same
     * source version) has put its own there meanwhile: either copy is as good. rename(2) onto that non-empty
     * directory fails with ENOTEMPTY, which the JDK reports as a plain {@link java.nio.file.FileSystemException}
     * ("Directory not empty"), not as the {@link java.nio.file.FileAlreadyExistsException} caught here until
     * 2026-12-06.
     */
    static void moveUnlessThere(Path tree, Path place) throws IOException {
        try {
            Files.move(tree, place, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.FileSystemException e) {
            if (!Files.isDirectory(place, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw e;
            }
        }
    }

    static String formatDuration(Duration duration) {
        long seconds = duration.toSeconds();
        return seconds >= 60 ? seconds / 60 + " min " + seconds % 60 + " s" : seconds + " s";
    }

    /** Runs make in the source tree with an object directory, logging everything and reporting progress. */
    private final class Make {
        private final Path source;
        private final Path objects;
        private final BufferedWriter log;

        Make(Path source, Path objects, BufferedWriter log) {
            this.source = source;
            this.objects = objects;
            this.log = log;
        }

        void run(String... targets) {
            List<String> command = new java.util.ArrayList<>(List.of("make", "-C", source.toString(),
                    "O=" + objects));
            command.addAll(List.of(targets));
            Instant start = Instant.now();
            long[] steps = {0};
            Instant[] lastReport = {start};
            StringBuilder tail = new StringBuilder();
            int status = new HostCommand(command, null, reproducibleEnvironment()).run(line -> {
                writeLog(line);
                tail.append(line).append('\n');
                if (tail.length() > 4000) {
                    tail.delete(0, tail.length() - 2000);
                }
                // kbuild prints one short line per step ("  CC      fs/ext4/inode.o") in its default quiet mode.
                if (line.startsWith("  ") && line.length() > 10) {
                    steps[0]++;
                    Instant now = Instant.now();
                    if (Duration.between(lastReport[0], now).compareTo(PROGRESS_INTERVAL) >= 0) {
                        lastReport[0] = now;
                        progress.accept(String.format("kernel: %s, %d steps: %s",
                                formatDuration(Duration.between(start, now)), steps[0], line.strip()));
                    }
                }
            });
            if (status != 0) {
                throw new ImageException("make " + String.join(" ", targets) + " failed (exit status " + status
                        + "): " + HostCommand.lastLines(tail.toString(), 5));
            }
        }

        private void writeLog(String line) {
            try {
                log.write(line);
                log.newLine();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
