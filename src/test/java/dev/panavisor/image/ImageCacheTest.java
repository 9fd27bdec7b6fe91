package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The image cache's own choices; how entries are produced is FileCacheTest's. */
class ImageCacheTest {
    @TempDir
    Path root;

    @Test
    void the_location_follows_panavisor_cache_then_xdg_then_home() {
        assertEquals(Path.of("/c/images"), ImageCache.forUser(Map.of("PANAVISOR_CACHE", "/c",
                "XDG_CACHE_HOME", "/x", "HOME", "/h")).root());
        assertEquals(Path.of("/x/panavisor/images"), ImageCache.forUser(Map.of("XDG_CACHE_HOME", "/x",
                "HOME", "/h")).root());
        assertEquals(Path.of("/h/.cache/panavisor/images"), ImageCache.forUser(Map.of("HOME", "/h")).root());
    }

    @Test
    void entries_are_the_built_directories_not_the_work_folder_locks_or_unfinished_builds() throws IOException {
        ImageCache cache = new ImageCache(root);
        // As an earlier version left them: entry directories, per-entry lock files, a killed build, the work folder.
        Files.createDirectories(root.resolve("kernel-c76587606d870563"));
        Files.writeString(root.resolve(".kernel-c76587606d870563.lock"), "");
        Files.createDirectories(root.resolve("kernel-7f153fc08704376f.tmp-6133724875679156456"));
        Files.createDirectories(cache.workDirectory("linux-source-6.1"));
        assertEquals(List.of(root.resolve("kernel-c76587606d870563")), cache.entries());
        assertTrue(cache.has("kernel-c76587606d870563"));
        assertFalse(cache.has("kernel-7f153fc08704376f"));
        Path entry = cache.getOrProduce("kernel-c76587606d870563", line -> { }, directory -> {
            throw new AssertionError("a built entry is not built again");
        });
        assertEquals(root.resolve("kernel-c76587606d870563"), entry);
    }
}
