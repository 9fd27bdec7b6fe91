package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vsock host side keeps working under the VMM's seccomp filter (the vsock variant: UNIX sockets allowed), in a
 * child JVM ({@link VsockConfinedMain}) since a filter cannot be lifted: a guest connection to a host socket and a
 * host program's CONNECT both exchange bytes, while an Internet socket is still refused. Needs no KVM: the guest is
 * the Java driver on heap memory.
 */
class VsockConfinementTest {
    @Test
    void under_the_filter_both_directions_work_and_an_internet_socket_is_refused(@TempDir Path dir) throws Exception {
        Map<String, String> confined = runChild("filter", dir);
        assertEquals("2", confined.get("seccomp-mode"), confined.toString());
        assertEquals("ok", confined.get("guest-to-host"), confined.toString());
        assertEquals("ok", confined.get("host-to-guest"), confined.toString());
        assertEquals("failed: Operation not permitted", confined.get("inet-socket"), confined.toString());
        assertTrue(confined.containsKey("closed"), confined.toString());
    }

    @Test
    void without_the_filter_the_internet_socket_opens_so_the_refusal_is_the_filters(@TempDir Path dir)
            throws Exception {
        Map<String, String> free = runChild("none", dir);
        assertEquals("0", free.get("seccomp-mode"), free.toString());
        assertEquals("ok", free.get("inet-socket"), free.toString());
    }

    private static Map<String, String> runChild(String mode, Path dir) throws Exception {
        String output = ChildJvm.run(List.of("-XX:+UseSerialGC"), VsockConfinedMain.class, mode, dir.toString());
        Map<String, String> lines = new HashMap<>();
        for (String line : output.split("\n")) {
            String[] parts = line.split(" ", 2);
            lines.putIfAbsent(parts[0], parts.length > 1 ? parts[1] : "");
        }
        return lines;
    }
}
