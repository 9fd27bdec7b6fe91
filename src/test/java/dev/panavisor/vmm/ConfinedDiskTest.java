package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-blk's system calls get through the VMM's seccomp filter: every disk transfer the device makes runs in a child
 * JVM confined exactly as {@code panavisor run} confines itself. Needs no KVM (seccomp is plain Linux), so a call
 * the filter lacks fails here on every machine, not only in a booted guest.
 */
class ConfinedDiskTest {
    @Test
    void scattered_and_gathered_transfers_and_a_flush_work_under_the_filter(@TempDir Path dir) throws Exception {
        byte[] contents = new byte[64 << 10];
        for (int i = 0; i < contents.length; i++) {
            contents[i] = (byte) i;
        }
        Path image = dir.resolve("disk.img");
        Files.write(image, contents);

        String output = ChildJvm.run(List.of("-XX:+UseSerialGC"), ConfinedDiskMain.class, image.toString());

        for (String line : List.of("seccomp-mode 2", "scattered-read ok", "gathered-write ok", "segments-read ok",
                "read ok", "flush ok", "warm-up ok")) {
            assertTrue(output.lines().anyMatch(line::equals), "no '" + line + "' in:\n" + output);
        }
        byte[] expected = contents.clone();
        Arrays.fill(expected, 0, 8192, (byte) 1);
        assertArrayEquals(expected, Files.readAllBytes(image), "the gathered write changed exactly the first 8 KiB");
    }
}
