package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class InitramfsTest {
    private static byte[] build(RootfsLayout layout, long mtime) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Initramfs.write(layout, out, mtime);
        return out.toByteArray();
    }

    @Test
    void the_same_layout_gives_identical_bytes() throws IOException {
        byte[] first = build(RootfsLayoutTest.sample(), GuestImages.SOURCE_DATE_EPOCH);
        byte[] second = build(RootfsLayoutTest.sample(), GuestImages.SOURCE_DATE_EPOCH);
        assertArrayEquals(first, second);
        assertNotEquals(java.util.Arrays.hashCode(first),
                java.util.Arrays.hashCode(build(RootfsLayoutTest.sample(), GuestImages.SOURCE_DATE_EPOCH + 1)));
    }

    @Test
    void the_gzip_header_has_no_time_and_no_name() throws IOException {
        byte[] image = build(RootfsLayoutTest.sample(), GuestImages.SOURCE_DATE_EPOCH);
        // RFC 1952 §2.3: ID1 ID2 CM FLG MTIME(4) ...; FLG 0 = no name, no comment; MTIME 0 = none.
        assertEquals(0x1f, image[0] & 0xff);
        assertEquals(0x8b, image[1] & 0xff);
        assertEquals(8, image[2]);
        assertEquals(0, image[3]);
        assertArrayEquals(new byte[4], java.util.Arrays.copyOfRange(image, 4, 8));
    }

    @Test
    void the_archive_holds_the_layout_owned_by_root_with_the_console_node() throws IOException {
        byte[] image = build(RootfsLayoutTest.sample(), GuestImages.SOURCE_DATE_EPOCH);
        byte[] cpio = new GZIPInputStream(new ByteArrayInputStream(image)).readAllBytes();
        Map<String, NewcReader.Entry> entries = NewcReader.read(cpio);
        assertEquals(RootfsLayoutTest.sample().entries().size(), entries.size());
        NewcReader.Entry init = entries.get("init");
        assertEquals(0100755, init.mode());
        assertArrayEquals(RootfsLayoutTest.INIT, init.data());
        assertEquals("/bin/busybox", new String(entries.get("bin/sh").data(), StandardCharsets.UTF_8));
        assertEquals(0120777, entries.get("bin/sh").mode());
        NewcReader.Entry console = entries.get("dev/console");
        assertEquals(0020600, console.mode());
        assertEquals(5, console.rdevMajor());
        assertEquals(1, console.rdevMinor());
        assertEquals(041777, entries.get("tmp").mode());
        for (NewcReader.Entry entry : entries.values()) {
            assertEquals(0, entry.uid(), entry.name());
            assertEquals(0, entry.gid(), entry.name());
            assertEquals(GuestImages.SOURCE_DATE_EPOCH, entry.mtime(), entry.name());
        }
        // Directories precede their contents, as the kernel's unpacker needs.
        assertEquals("bin", entries.keySet().iterator().next());
    }
}
