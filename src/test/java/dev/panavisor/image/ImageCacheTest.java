package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCacheTest {
    @TempDir
    Path root;

    @Test
    void an_entry_is_produced_once_and_then_served_from_the_cache() throws IOException {
        ImageCache cache = new ImageCache(root);
        AtomicInteger runs = new AtomicInteger();
        ImageCache.Producer producer = directory -> {
            runs.incrementAndGet();
            Files.writeString(directory.resolve("bzImage"), "kernel");
        };
        Path first = cache.getOrProduce("kernel-1", producer);
        Path second = cache.getOrProduce("kernel-1", producer);
        assertEquals(1, runs.get());
        assertEquals(first, second);
        assertEquals(root.resolve("kernel-1"), first);
        assertEquals("kernel", Files.readString(first.resolve("bzImage")));
    }

    @Test
    void a_failed_build_leaves_no_entry_and_no_temporary_directory() throws IOException {
        ImageCache cache = new ImageCache(root);
        assertThrows(ImageException.class, () -> cache.getOrProduce("kernel-2", directory -> {
            Files.writeString(directory.resolve("half"), "written");
            throw new ImageException("make failed");
        }));
        assertFalse(Files.exists(root.resolve("kernel-2")));
        try (Stream<Path> left = Files.list(root)) {
            assertEquals(List.of(), left.filter(p -> !p.getFileName().toString().endsWith(".lock")).toList());
        }
        // The next attempt builds from scratch.
        Path entry = cache.getOrProduce("kernel-2", directory -> Files.writeString(directory.resolve("ok"), "1"));
        assertTrue(Files.exists(entry.resolve("ok")));
        assertFalse(Files.exists(entry.resolve("half")));
    }

    @Test
    void the_leftovers_of_a_killed_build_are_removed_by_the_next_build() throws IOException {
        ImageCache cache = new ImageCache(root);
        Path abandoned = Files.createDirectories(root.resolve("kernel-4.tmp-123"));
        Files.writeString(abandoned.resolve("bzImage"), "half");
        Path other = Files.createDirectories(root.resolve("kernel-5.tmp-456"));
        cache.getOrProduce("kernel-4", directory -> Files.writeString(directory.resolve("bzImage"), "whole"));
        assertFalse(Files.exists(abandoned));
        assertTrue(Files.exists(other), "another entry's build may still be running");
    }

    @Test
    void concurrent_requests_for_one_entry_build_it_once() throws Exception {
        ImageCache cache = new ImageCache(root);
        AtomicInteger runs = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Path>> tasks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                tasks.add(() -> cache.getOrProduce("rootfs-3", directory -> {
                    runs.incrementAndGet();
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Files.writeString(directory.resolve("rootfs.ext4"), "image");
                }));
            }
            for (Future<Path> result : pool.invokeAll(tasks)) {
                assertEquals(root.resolve("rootfs-3"), result.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, runs.get());
    }

    @Test
    void the_location_follows_panavisor_cache_then_xdg_then_home() {
        assertEquals(Path.of("/c/images"), ImageCache.forUser(Map.of("PANAVISOR_CACHE", "/c",
                "XDG_CACHE_HOME", "/x", "HOME", "/h")).root());
        assertEquals(Path.of("/x/panavisor/images"), ImageCache.forUser(Map.of("XDG_CACHE_HOME", "/x",
                "HOME", "/h")).root());
        assertEquals(Path.of("/h/.cache/panavisor/images"), ImageCache.forUser(Map.of("HOME", "/h")).root());
    }
}
