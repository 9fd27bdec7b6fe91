package dev.panavisor.image;

import dev.panavisor.host.FileTree;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The directory where built guest images are kept, one subdirectory per {@link CacheKey}.
 *
 * <p>Location: {@code ${PANAVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/panavisor}/images}. An entry is
 * valid exactly when its directory exists: a build writes into a private temporary directory next to it and
 * renames that into place as its last step (an atomic rename on one file system), so an interrupted build
 * leaves at most a stray {@code *.tmp-*} directory, never a half-written entry. Two processes building the
 * same entry serialize on a lock file; the second finds the entry done and returns it.
 */
public final class ImageCache {
    /** One lock per entry for the threads of this JVM (see {@link #getOrProduce}). */
    private static final ConcurrentHashMap<Path, ReentrantLock> THREAD_LOCKS = new ConcurrentHashMap<>();

    private final Path root;

    public ImageCache(Path root) {
        this.root = root;
    }

    /** The cache of this user, following the project's convention (PANAVISOR_CACHE, XDG_CACHE_HOME, HOME). */
    public static ImageCache forUser(Map<String, String> environment) {
        return new ImageCache(panavisorCacheDirectory(environment).resolve("images"));
    }

    static Path panavisorCacheDirectory(Map<String, String> environment) {
        String explicit = environment.get("PANAVISOR_CACHE");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = environment.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "panavisor");
        }
        String home = environment.getOrDefault("HOME", System.getProperty("user.home"));
        return Path.of(home, ".cache", "panavisor");
    }

    public Path root() {
        return root;
    }

    /** Where the entry with this name lives (it may not exist yet). */
    public Path entry(String name) {
        return root.resolve(name);
    }

    /** A scratch directory for builds that is kept between builds (unpacked sources, object trees). */
    public Path workDirectory(String name) {
        return root.resolve("work").resolve(name);
    }

    /** Fills a cache entry: writes its files into the given (empty, private) directory. */
    @FunctionalInterface
    public interface Producer {
        void produce(Path directory) throws IOException;
    }

    /**
     * Returns the entry {@code name}, producing it first if it does not exist yet.
     *
     * @return the entry directory, complete
     */
    public Path getOrProduce(String name, Producer producer) {
        Path entry = entry(name);
        if (Files.isDirectory(entry)) {
            return entry;
        }
        Path lockPath = root.resolve("." + name + ".lock").toAbsolutePath().normalize();
        // A file lock keeps other processes out; it cannot be taken twice inside one JVM (the second attempt
        // throws OverlappingFileLockException), so threads of this process first queue on a plain lock.
        ReentrantLock threadLock = THREAD_LOCKS.computeIfAbsent(lockPath, path -> new ReentrantLock());
        threadLock.lock();
        try {
            Files.createDirectories(root);
            try (FileChannel lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock lock = lockFile.lock()) {
                if (Files.isDirectory(entry)) {
                    return entry; // built by another process while we waited for the lock
                }
                removeAbandonedBuilds(name);
                Path temporary = Files.createTempDirectory(root, name + ".tmp-");
                try {
                    producer.produce(temporary);
                    publish(temporary, entry);
                } finally {
                    FileTree.delete(temporary);
                }
                return entry;
            }
        } catch (IOException e) {
            throw new ImageException("cannot write the image cache " + root + ": " + e.getMessage(), e);
        } finally {
            threadLock.unlock();
        }
    }

    private static void publish(Path temporary, Path entry) throws IOException {
        try {
            Files.move(temporary, entry, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            // Cannot happen under the lock, but a complete entry is a complete entry: keep the existing one.
        } catch (AtomicMoveNotSupportedException e) {
            throw new ImageException("the image cache " + entry.getParent()
                    + " does not support atomic renames; set PANAVISOR_CACHE to a local directory", e);
        }
    }

    /**
     * Deletes the temporary directories of builds of {@code name} that were killed before they could clean up.
     * Only called under the entry's lock, when no other build of it can be running.
     */
    private void removeAbandonedBuilds(String name) throws IOException {
        try (Stream<Path> siblings = Files.list(root)) {
            for (Path abandoned : siblings.filter(p -> p.getFileName().toString().startsWith(name + ".tmp-"))
                    .toList()) {
                FileTree.delete(abandoned);
            }
        }
    }
}
