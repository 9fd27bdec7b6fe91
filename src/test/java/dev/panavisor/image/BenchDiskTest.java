package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchDiskTest {
    @Test
    void the_disk_image_has_no_holes_and_no_two_blocks_alike(@TempDir Path dir) throws IOException {
        Path image = dir.resolve("disk.img");
        BenchDisk.create(image, 2);
        byte[] bytes = Files.readAllBytes(image);
        assertEquals(2 << 20, bytes.length);
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        assertEquals(0, buffer.getLong(0));
        assertEquals(1, buffer.getLong(4096));
        assertEquals(256, buffer.getLong(1 << 20));
        assertFalse(Arrays.equals(bytes, 8, 4096, bytes, 4096 + 8, 8192), "random data, not zeros");
    }
}
