package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.Requires;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seccomp confinement on a running VM: a child JVM ({@link ConfinedMachineMain}) starts a Machine whose guest
 * writes to the serial port forever, installs the filter where {@code panavisor run} does, then tries to open a
 * socket, create a process ({@code clone}) and execute a program ({@code execve}). Under the filter all three are
 * refused with EPERM while the guest goes on producing output and the VM still stops and closes; without the filter
 * the socket opens, a process starts, and the raw calls reach the kernel and fail there for reasons of their own,
 * so the refusal is the filter's doing. A child JVM because a filter cannot be removed: the test JVM must stay
 * unconfined.
 */
@Tag("kvm")
class ConfinementTest {
    @Test
    void after_set_up_a_socket_and_a_new_process_are_refused_while_the_guest_keeps_running(@TempDir Path dir)
            throws Exception {
        Requires.kvm();
        Map<String, String> confined = runChild("filter", dir);
        assertEquals("2", confined.get("seccomp-mode"), "filter mode (PR_GET_SECCOMP) " + confined);
        assertEquals("refused: Operation not permitted", confined.get("socket"), confined.toString());
        // Without the filter, the same calls reach the kernel and fail there for a reason of its own.
        assertEquals("refused: Operation not permitted", confined.get("clone"), confined.toString());
        assertEquals("refused: Operation not permitted", confined.get("execve"), confined.toString());
        assertTrue(Long.parseLong(confined.get("guest-bytes-after")) > 0,
                "the guest wrote nothing after the refused calls: " + confined);
        assertEquals("StoppedByHost", confined.get("outcome"), confined.toString());
        assertTrue(confined.containsKey("closed"), confined.toString());
    }

    @Test
    void without_the_filter_the_same_calls_reach_the_kernel(@TempDir Path dir) throws Exception {
        Requires.kvm();
        Map<String, String> free = runChild("none", dir);
        assertEquals("0", free.get("seccomp-mode"), free.toString());
        assertEquals("allowed", free.get("socket"), free.toString());
        assertEquals("kernel: Invalid argument", free.get("clone"), free.toString());
        assertEquals("kernel: No such file or directory", free.get("execve"), free.toString());
        assertEquals("allowed", free.get("process"), free.toString());
        assertTrue(free.containsKey("closed"), free.toString());
    }

    /** Runs the child JVM and returns its output lines as key, value (the first word, the rest). */
    private static Map<String, String> runChild(String mode, Path dir) throws IOException, InterruptedException {
        String output = ChildJvm.run(List.of("-XX:+UseSerialGC"), ConfinedMachineMain.class, mode, dir.toString());
        Map<String, String> lines = new HashMap<>();
        for (String line : output.split("\n")) {
            String[] parts = line.split(" ", 2);
            lines.putIfAbsent(parts[0], parts.length > 1 ? parts[1] : "");
        }
        return lines;
    }
}
