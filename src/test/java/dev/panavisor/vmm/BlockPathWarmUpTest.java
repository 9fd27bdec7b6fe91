package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.block.FileDiskBackend;
import dev.panavisor.testing.ThreadStates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The disk's request path played ahead of the guest: real reads of a real file, nothing changed, a joined thread. */
class BlockPathWarmUpTest {
    @TempDir
    Path dir;

    private Path image(int bytes) throws Exception {
        byte[] content = new byte[bytes];
        new Random(7).nextBytes(content);
        Path path = dir.resolve("disk-" + bytes + ".img");
        Files.write(path, content);
        return path;
    }

    @Test
    void every_request_of_a_1_mib_read_is_answered_ok_and_the_disk_is_left_as_it_was() throws Exception {
        Path path = image(3 << 20);
        byte[] before = Files.readAllBytes(path);
        try (FileDiskBackend disk = FileDiskBackend.open(path, false)) {
            assertEquals(BlockPathWarmUp.REQUESTS, BlockPathWarmUp.play(disk, BlockPathWarmUp.REQUESTS, () -> false));
        }
        assertArrayEquals(before, Files.readAllBytes(path));
    }

    @Test
    void a_disk_smaller_than_a_page_is_read_whole() throws Exception {
        try (FileDiskBackend disk = FileDiskBackend.open(image(1536), true)) {
            assertEquals(3, BlockPathWarmUp.play(disk, 3, () -> false));
        }
    }

    @Test
    void it_stops_when_told_to() throws Exception {
        try (FileDiskBackend disk = FileDiskBackend.open(image(1 << 20), true)) {
            assertEquals(0, BlockPathWarmUp.play(disk, 10, () -> true));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void the_thread_waits_for_begin_then_plays_every_request() throws Exception {
        try (FileDiskBackend disk = FileDiskBackend.open(image(1 << 20), true)) {
            PathWarmUp warmUp = BlockPathWarmUp.thread(disk, "block-begin-test", 5);
            warmUp.start();
            // Parked on its begin latch: started, and not reading until begin() (a thread not yet run would also
            // have served nothing).
            ThreadStates.awaitWaitingIn(ThreadStates.named("block-begin-test-warm-up"), Thread.State.WAITING,
                    CountDownLatch.class, "await");
            assertEquals(0, warmUp.served());
            warmUp.begin();
            assertTrue(warmUp.awaitEnd(Duration.ofSeconds(30)), "it ends after its requests");
            assertEquals(5, warmUp.served());
            warmUp.close();
        }
    }

    @Test
    void close_without_begin_ends_the_thread_without_a_request() throws Exception {
        try (FileDiskBackend disk = FileDiskBackend.open(image(1 << 20), true)) {
            PathWarmUp warmUp = BlockPathWarmUp.thread(disk, "test", 5);
            warmUp.start();
            warmUp.close();
            assertFalse(warmUp.isAlive());
            assertEquals(0, warmUp.served());
        }
    }

    @Test
    void none_with_zero_requests_or_under_a_flight_recording() throws Exception {
        try (FileDiskBackend disk = FileDiskBackend.open(image(4096), true)) {
            assertNotNull(BlockPathWarmUp.forDisk(disk, "test", 24, false));
            assertNull(BlockPathWarmUp.forDisk(disk, "test", 0, false));
            assertNull(BlockPathWarmUp.forDisk(disk, "test", 24, true));
        }
    }
}
