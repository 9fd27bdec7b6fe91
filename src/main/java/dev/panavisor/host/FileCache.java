package dev.panavisor.host;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A folder of entries, each a directory that is produced once and then reused by every process of every user of the
 * folder: the guest images ({@code images/}), the lab's staged kernels ({@code lab/kernel/}) and its backported QEMU
 * ({@code lab/qemu/}).
 *
 * <p>An entry is produced in a private {@code <name>.tmp-*} directory next to it and renamed into place (an atomic
 * rename on one file system), so an interrupted producer leaves at most a stray temporary directory, which the next
 * producer of that entry removes. Producers of one entry serialize on a lock file (other processes) and on a plain
 * lock (threads of this JVM, which cannot take one file lock twice); the second finds the entry done.
 *
 * <p>An entry is complete when its directory exists, or, for a cache with a {@link #completedBy marker}, when the
 * marker file in it exists: the lab's folders were written that way before this class, and older Panavisor versions
 * still reading them look for the marker. The marker is written after the rename, so a directory without it is a
 * leftover, replaced by the next producer.
 *
 * <p>A producer that finds another at work says so in one line ({@link #tellingWaits}) before it waits: a kernel
 * build takes minutes, and a second {@code image build} would otherwise sit silent all that time.
 */
public final class FileCache {
    /** One lock per lock file for the threads of this JVM (see {@link #getOrProduce}). */
    private static final ConcurrentHashMap<Path, ReentrantLock> THREAD_LOCKS = new ConcurrentHashMap<>();

    private final Path root;
    private final String marker;
    private final Path sharedLock;
    private final Consumer<String> waits;

    private FileCache(Path root, String marker, Path sharedLock, Consumer<String> waits) {
        this.root = root;
        this.marker = marker;
        this.sharedLock = sharedLock;
        this.waits = waits;
    }

    /** A cache whose entries are complete when their directory exists, each with its own lock file. */
    public static FileCache at(Path root) {
        return new FileCache(root, null, null, line -> { });
    }

    /** This cache, with entries complete only once {@code markerFile} is written in them. */
    public FileCache completedBy(String markerFile) {
        return new FileCache(root, markerFile, sharedLock, waits);
    }

    /** This cache, with every entry produced under the one lock file {@code lockFile} (the lab's older layout). */
    public FileCache lockedBy(Path lockFile) {
        return new FileCache(root, marker, lockFile, waits);
    }

    /** This cache, giving {@code progress} one line when a producer has to wait for another to finish. */
    public FileCache tellingWaits(Consumer<String> progress) {
        return new FileCache(root, marker, sharedLock, progress);
    }

    /** Panavisor's cache folder: {@code ${PANAVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/panavisor}}. */
    public static Path userDirectory(Map<String, String> environment) {
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

    /** The file whose presence makes {@code entry} complete: the marker, or the directory itself. */
    public Path completion(Path entry) {
        return marker == null ? entry : entry.resolve(marker);
    }

    public boolean isComplete(Path entry) {
        return marker == null ? Files.isDirectory(entry) : Files.exists(entry.resolve(marker));
    }

    /** The complete entries, in no particular order (empty when the folder does not exist yet). */
    public List<Path> completeEntries() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> children = Files.list(root)) {
            return children.filter(p -> !p.getFileName().toString().contains(".tmp-")).filter(this::isComplete)
                    .toList();
        } catch (IOException e) {
            throw new HostException("cannot list the cache " + root + ": " + e.getMessage(), e);
        }
    }

    /** Fills an entry: writes its files into the given (empty, private) directory. */
    @FunctionalInterface
    public interface Producer {
        void produce(Path directory) throws IOException;
    }

    /**
     * Returns the entry {@code name}, producing it first if it is not complete yet. Exceptions the producer throws
     * (other than {@link IOException}, which becomes a {@link HostException}) pass through unchanged.
     *
     * @return the entry directory, complete
     */
    public Path getOrProduce(String name, Producer producer) {
        return getOrProduce(name, name, producer);
    }

    /** {@link #getOrProduce(String, Producer)}, with the text the marker holds (the lab's QEMU: its version). */
    public Path getOrProduce(String name, String markerText, Producer producer) {
        Path entry = entry(name);
        if (isComplete(entry)) {
            return entry;
        }
        Path lockPath = (sharedLock != null ? sharedLock : root.resolve("." + name + ".lock"))
                .toAbsolutePath().normalize();
        ReentrantLock threadLock = THREAD_LOCKS.computeIfAbsent(lockPath, path -> new ReentrantLock());
        if (!threadLock.tryLock()) {
            waits.accept(waitingLine(entry, lockPath));
            threadLock.lock();
        }
        try {
            Files.createDirectories(root);
            Files.createDirectories(lockPath.getParent());
            try (FileChannel lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock lock = lockOrWait(lockFile, entry, lockPath)) {
                if (isComplete(entry)) {
                    return entry; // produced by another process while we waited for the lock
                }
                removeAbandoned(name);
                Path temporary = Files.createTempDirectory(root, name + ".tmp-");
                try {
                    producer.produce(temporary);
                    publish(temporary, entry, markerText);
                } finally {
                    FileTree.delete(temporary);
                }
                return entry;
            }
        } catch (IOException e) {
            throw new HostException("cannot write the cache " + root + ": " + IoErrors.describe(e)
                    + " (PANAVISOR_CACHE chooses another place)", e);
        } finally {
            threadLock.unlock();
        }
    }

    /** The file lock, taken at once or, after one line saying so, when the process holding it lets go. */
    private FileLock lockOrWait(FileChannel lockFile, Path entry, Path lockPath) throws IOException {
        FileLock lock = lockFile.tryLock();
        if (lock != null) {
            return lock;
        }
        waits.accept(waitingLine(entry, lockPath));
        return lockFile.lock();
    }

    private static String waitingLine(Path entry, Path lockPath) {
        return "waiting while another Panavisor makes " + entry + " (it holds " + lockPath + ")...";
    }

    private void publish(Path temporary, Path entry, String markerText) throws IOException {
        // createTempDirectory made it private (0700); an entry is as readable as the files in it, as the lab's
        // folders were before this class.
        Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (marker != null) {
            FileTree.delete(entry); // a leftover without the marker: incomplete by definition
        }
        try {
            Files.move(temporary, entry, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            // Cannot happen under the lock, but a complete entry is a complete entry: keep the existing one.
            return;
        } catch (AtomicMoveNotSupportedException e) {
            throw new HostException("the cache " + root + " does not support atomic renames; set PANAVISOR_CACHE to "
                    + "a local directory", e);
        }
        if (marker != null) {
            Files.writeString(entry.resolve(marker), markerText + "\n");
        }
    }

    /**
     * Deletes the temporary directories of producers of {@code name} that were killed before they could clean up.
     * Only called under the entry's lock, when no other producer of it can be running.
     */
    private void removeAbandoned(String name) throws IOException {
        try (Stream<Path> siblings = Files.list(root)) {
            for (Path abandoned : siblings.filter(p -> p.getFileName().toString().startsWith(name + ".tmp-"))
                    .filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                FileTree.delete(abandoned);
            }
        }
    }
}
