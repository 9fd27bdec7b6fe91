package dev.panavisor.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class FileCacheTest {
    @TempDir
    Path root;

    @Test
    void an_entry_is_produced_once_and_then_served_from_the_cache() throws IOException {
        FileCache cache = FileCache.at(root);
        AtomicInteger runs = new AtomicInteger();
        FileCache.Producer producer = directory -> {
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
        FileCache cache = FileCache.at(root);
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> cache.getOrProduce("kernel-2", directory -> {
                    Files.writeString(directory.resolve("half"), "written");
                    throw new IllegalStateException("make failed");
                }));
        assertEquals("make failed", thrown.getMessage(), "the producer's own failure passes through unchanged");
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
        FileCache cache = FileCache.at(root);
        Path abandoned = Files.createDirectories(root.resolve("kernel-4.tmp-123"));
        Files.writeString(abandoned.resolve("bzImage"), "half");
        Path other = Files.createDirectories(root.resolve("kernel-5.tmp-456"));
        cache.getOrProduce("kernel-4", directory -> Files.writeString(directory.resolve("bzImage"), "whole"));
        assertFalse(Files.exists(abandoned));
        assertTrue(Files.exists(other), "another entry's build may still be running");
    }

    /**
     * Four threads ask for one entry: the one that builds it holds its build until the other three have said that
     * they wait for it, so all four really overlap; the three then find it built.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrent_requests_for_one_entry_build_it_once() throws Exception {
        List<String> told = new CopyOnWriteArrayList<>();
        CountDownLatch othersWait = new CountDownLatch(3);
        FileCache cache = FileCache.at(root).tellingWaits(line -> {
            told.add(line);
            othersWait.countDown();
        });
        AtomicInteger runs = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Path>> tasks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                tasks.add(() -> cache.getOrProduce("rootfs-3", directory -> {
                    runs.incrementAndGet();
                    try {
                        othersWait.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while the others were to wait", e);
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
        String waiting = "waiting while another Panavisor makes " + root.resolve("rootfs-3") + " (it holds "
                + root.resolve(".rootfs-3.lock") + ")...";
        assertEquals(List.of(waiting, waiting, waiting), told);
        assertEquals("image", Files.readString(root.resolve("rootfs-3").resolve("rootfs.ext4")));
    }

    @Test
    void an_io_failure_of_the_producer_is_one_line_naming_the_cache() {
        FileCache cache = FileCache.at(root);
        HostException e = assertThrows(HostException.class, () -> cache.getOrProduce("kernel-6", directory -> {
            throw new IOException("No space left on device");
        }));
        assertEquals("cannot write the cache " + root + ": No space left on device (PANAVISOR_CACHE chooses another "
                + "place)", e.getMessage());
        assertFalse(Files.exists(root.resolve("kernel-6")));
    }

    @Test
    void the_user_directory_follows_panavisor_cache_then_xdg_then_home() {
        assertEquals(Path.of("/c"), FileCache.userDirectory(Map.of("PANAVISOR_CACHE", "/c", "XDG_CACHE_HOME", "/x",
                "HOME", "/h")));
        assertEquals(Path.of("/x/panavisor"), FileCache.userDirectory(Map.of("XDG_CACHE_HOME", "/x", "HOME", "/h")));
        assertEquals(Path.of("/h/.cache/panavisor"), FileCache.userDirectory(Map.of("HOME", "/h")));
    }

    @Test
    void with_a_marker_a_directory_counts_only_once_marked_and_a_leftover_is_replaced() throws IOException {
        FileCache cache = FileCache.at(root).completedBy("complete");
        Path leftover = Files.createDirectories(root.resolve("k_1.s2"));
        Files.writeString(leftover.resolve("vmlinux"), "half");
        assertFalse(cache.isComplete(leftover), "no marker: an interrupted fill");
        assertEquals(List.of(), cache.completeEntries());

        Path entry = cache.getOrProduce("k_1.s2", "k 1", directory -> Files.writeString(directory.resolve("vmlinux"),
                "whole"));
        assertEquals(leftover, entry);
        assertEquals("whole", Files.readString(entry.resolve("vmlinux")));
        assertEquals("k 1\n", Files.readString(entry.resolve("complete")), "the marker holds the given text");
        assertEquals(entry.resolve("complete"), cache.completion(entry));
        assertEquals(List.of(entry), cache.completeEntries());
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(entry)),
                "not the temporary directory's 0700: other readers of the cache folder read entries too");
    }

    @Test
    void an_entry_written_by_an_older_version_is_found_and_not_produced_again() throws IOException {
        // The lab's layout before FileCache: kernel/<package>_<version>.s2/ with a complete marker, lock in ../.lock.
        Path kernels = root.resolve("kernel");
        Path old = Files.createDirectories(kernels.resolve("linux-image-6.1.0-57-amd64-unsigned_6.1.192-3.s2"));
        Files.writeString(old.resolve("complete"), "linux-image-6.1.0-57-amd64-unsigned 6.1.192-3\n");
        Files.createDirectories(kernels.resolve("linux-image-6.1.0-57-amd64-unsigned_6.1.192-3.s2.tmp-9"));
        FileCache cache = FileCache.at(kernels).completedBy("complete").lockedBy(root.resolve(".lock"));
        assertEquals(List.of(old), cache.completeEntries(), "a temporary directory is never an entry");
        assertEquals(old, cache.getOrProduce(old.getFileName().toString(), directory -> {
            throw new AssertionError("must not be produced again");
        }));
    }

    @Test
    void a_shared_lock_file_is_where_it_is_told_and_no_per_entry_lock_appears() throws IOException {
        Path lock = root.resolve(".lock");
        FileCache cache = FileCache.at(root.resolve("qemu")).completedBy("complete").lockedBy(lock);
        cache.getOrProduce("10.0", directory -> Files.createDirectory(directory.resolve("root")));
        assertTrue(Files.exists(lock));
        try (Stream<Path> files = Files.list(root.resolve("qemu"))) {
            assertEquals(List.of(root.resolve("qemu/10.0")), files.toList());
        }
    }

    /** A second thread of this JVM asking for an entry that is being made: one line, then the finished entry. */
    @Test
    void a_thread_that_waits_for_another_says_so_once() throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        FileCache cache = FileCache.at(root).tellingWaits(lines::add);
        CountDownLatch producing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Path> first = pool.submit(() -> cache.getOrProduce("kernel-7", directory -> {
                producing.countDown();
                awaitUninterruptibly(release);
                Files.writeString(directory.resolve("bzImage"), "kernel");
            }));
            assertTrue(producing.await(30, TimeUnit.SECONDS));
            Future<Path> second = pool.submit(() -> cache.getOrProduce("kernel-7", directory -> {
                throw new AssertionError("made twice");
            }));
            awaitLine(lines);
            release.countDown();
            assertEquals(root.resolve("kernel-7"), first.get());
            assertEquals(root.resolve("kernel-7"), second.get());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of("waiting while another Panavisor makes " + root.resolve("kernel-7") + " (it holds "
                + root.resolve(".kernel-7.lock") + ")..."), lines);
    }

    /** Another process holding the entry's lock file: one line, and the entry is made once it lets go. */
    @Test
    void a_process_that_waits_for_another_says_so_and_then_makes_the_entry() throws Exception {
        Path lock = root.resolve(".kernel-8.lock");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LockHolder.class.getName(), lock.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start(); // stdout holds only the holder's 'L'
        try {
            assertEquals('L', holder.getInputStream().read(), "the holder took the lock");
            List<String> lines = new CopyOnWriteArrayList<>();
            Thread releaser = Thread.ofPlatform().start(() -> {
                try {
                    awaitLine(lines); // a silent wait fails the assertion below
                    holder.getOutputStream().close(); // the holder ends, and its lock with it
                } catch (InterruptedException | IOException e) {
                    holder.destroy();
                }
            });
            Path entry = FileCache.at(root).tellingWaits(lines::add).getOrProduce("kernel-8",
                    directory -> Files.writeString(directory.resolve("bzImage"), "kernel"));
            releaser.join();
            assertTrue(Files.isRegularFile(entry.resolve("bzImage")));
            assertEquals(1, lines.size(), lines.toString());
            assertTrue(lines.get(0).startsWith("waiting while another Panavisor makes "), lines.toString());
        } finally {
            holder.destroyForcibly().waitFor();
        }
    }

    /** Holds a file lock on {@code args[0]}, says 'L' on stdout, and lets go when its stdin ends. */
    public static final class LockHolder {
        public static void main(String[] args) throws IOException {
            try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = channel.lock()) {
                System.out.print('L');
                System.out.flush();
                System.in.readAllBytes();
            }
        }
    }

    /** Waits up to 30 s for a first line in {@code lines}. */
    private static void awaitLine(List<String> lines) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (lines.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
