package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelImageTest {
    /** A bzImage skeleton: setup_sects real-mode sectors, a setup header, and the payload in protected-mode code. */
    static byte[] bzImage(int setupSects, int payloadOffset, byte[] payload) {
        int protectedMode = ((setupSects == 0 ? 4 : setupSects) + 1) * 512;
        ByteBuffer b = ByteBuffer.allocate(protectedMode + payloadOffset + payload.length + 4)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) setupSects).putInt(0x202, 0x53726448).putShort(0x206, (short) 0x020f);
        b.putInt(0x248, payloadOffset).putInt(0x24c, payload.length);
        b.put(protectedMode + payloadOffset, payload);
        return b.array();
    }

    @Test
    void the_payload_is_found_through_setup_sects_and_payload_offset() {
        byte[] payload = {1, 2, 3, 4, 5};
        assertArrayEquals(payload, KernelImage.payload(bzImage(27, 0x3b4, payload)));
        assertArrayEquals(payload, KernelImage.payload(bzImage(0, 16, payload))); // 0 means 4 sectors
    }

    @Test
    void a_gzip_payload_is_unpacked_to_the_elf_vmlinux(@TempDir Path dir) throws IOException {
        byte[] elf = new byte[4096];
        ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0x464c457f);
        elf[100] = 42;
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(elf);
        }
        Path image = dir.resolve("vmlinuz");
        Files.write(image, bzImage(30, 0x200, gz.toByteArray()));
        KernelImage.extractVmlinux(image, dir.resolve("vmlinux"));
        assertArrayEquals(elf, Files.readAllBytes(dir.resolve("vmlinux")));
    }

    @Test
    void a_file_without_the_setup_header_is_not_a_bzimage() {
        LabException e = assertThrows(LabException.class, () -> KernelImage.payload(new byte[4096]));
        assertEquals("not a Linux bzImage (no HdrS setup header)", e.getMessage());
    }

    @Test
    void a_payload_past_the_end_is_rejected() {
        byte[] image = bzImage(4, 0, new byte[16]);
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(0x24c, 1 << 20);
        assertThrows(LabException.class, () -> KernelImage.payload(image));
    }
}
