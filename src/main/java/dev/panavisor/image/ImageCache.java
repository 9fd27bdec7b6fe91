package dev.panavisor.image;

import dev.panavisor.host.FileCache;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The directory where built guest images are kept, one subdirectory per {@link CacheKey}, plus the work
 * directories a build keeps between builds (unpacked kernel sources).
 *
 * <p>Location: {@code ${PANAVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/panavisor}/images}. Entries are produced
 * through {@link FileCache}: an entry is valid exactly when its directory exists, because a build writes into a
 * private temporary directory next to it and renames that into place as its last step; two processes building the
 * same entry serialize on a lock file, and the second finds the entry done.
 */
public final class ImageCache {
    private final FileCache files;

    public ImageCache(Path root) {
        this.files = FileCache.at(root);
    }

    /** The cache of this user, following the project's convention (PANAVISOR_CACHE, XDG_CACHE_HOME, HOME). */
    public static ImageCache forUser(Map<String, String> environment) {
        return new ImageCache(FileCache.userDirectory(environment).resolve("images"));
    }

    public Path root() {
        return files.root();
    }

    /** Where the entry with this name lives (it may not exist yet). */
    public Path entry(String name) {
        return files.entry(name);
    }

    /** Whether the entry {@code name} is built. */
    public boolean has(String name) {
        return files.isComplete(files.entry(name));
    }

    /** The entries built so far (the work directory is none: it has no key). */
    public List<Path> entries() {
        return files.completeEntries().stream().filter(p -> !p.equals(workDirectory(""))).toList();
    }

    /** A scratch directory for builds that is kept between builds (unpacked sources, object trees). */
    public Path workDirectory(String name) {
        return files.root().resolve("work").resolve(name);
    }

    /**
     * Returns the entry {@code name}, producing it first if it does not exist yet; {@code progress} gets one line
     * if another process is producing it meanwhile and this one waits.
     *
     * @return the entry directory, complete
     */
    public Path getOrProduce(String name, java.util.function.Consumer<String> progress, FileCache.Producer producer) {
        return files.tellingWaits(progress).getOrProduce(name, producer);
    }
}
