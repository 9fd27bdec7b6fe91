package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.memory.MappedGuestMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ExitPathWarmUpTest {
    @Test
    void a_round_takes_the_disk_through_a_guest_drivers_start_up_and_a_read() {
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(256 << 10)) {
            ExitPathWarmUp.Round round = new ExitPathWarmUp.Round(memory);
            long exits = round.play();
            // The driver's accesses left the device running, never needing a reset...
            int status = round.transport().status();
            assertEquals(DeviceStatus.DRIVER_OK, status & DeviceStatus.DRIVER_OK, "status " + status);
            assertEquals(0, status & DeviceStatus.DEVICE_NEEDS_RESET, round.transport().lastError());
            // ...and the read was served as a worker serves it: VIRTIO_BLK_S_OK in its status byte.
            assertEquals(0, round.lastStatus());
            assertTrue(exits > 50, exits + " exits");
        }
    }

    @Test
    void rounds_reuse_the_scratch_memory_and_leave_no_descriptor_or_thread_behind() throws IOException {
        Set<String> fds = openDescriptors();
        Set<Thread> threads = Thread.getAllStackTraces().keySet();
        long one = ExitPathWarmUp.run(1);
        assertEquals(3 * one, ExitPathWarmUp.run(3), "every round plays the same exits");
        assertEquals(fds, openDescriptors());
        Set<Thread> after = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .collect(Collectors.toSet());
        after.removeAll(threads);
        assertEquals(Set.of(), after);
    }

    /** "N -> target" for each of this process's descriptors, but the listing's own. */
    private static Set<String> openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(fd -> {
                try {
                    return fd.getFileName() + " -> " + Files.readSymbolicLink(fd);
                } catch (IOException e) {
                    return null; // closed meanwhile: the listing's own
                }
            }).filter(fd -> fd != null && !fd.endsWith("/fd")).collect(Collectors.toSet());
        }
    }
}
