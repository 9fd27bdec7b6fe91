package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CpioArchiveTest {
    private static byte[] sample(long mtime) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioArchive cpio = new CpioArchive(bytes, mtime)) {
            cpio.directory("dev", 0755);
            cpio.characterDevice("/dev/console", 0600, 5, 1);
            cpio.file("init", 0755, "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8));
            cpio.symlink("bin/sh", "busybox");
        }
        return bytes.toByteArray();
    }

    @Test
    void entries_are_newc_headers_with_names_and_data_aligned_to_four_bytes() throws IOException {
        byte[] archive = sample(1_700_000_000L);
        String text = new String(archive, StandardCharsets.ISO_8859_1);
        assertEquals(0, archive.length % 4);
        assertTrue(text.startsWith("070701"));
        // First entry: inode 1, mode 040755, nlink 2, mtime, size 0, namesize 4 ("dev\0").
        String first = text.substring(0, 110);
        assertEquals("070701" + "00000001" + "000041ed" + "00000000" + "00000000" + "00000002" + "6553f100"
                + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "00000004" + "00000000", first);
        assertEquals("dev\0", text.substring(110, 114));
        // The console node carries its device number in rdevmajor/rdevminor.
        int console = text.indexOf("dev/console\0") - 110;
        assertEquals("00000005", text.substring(console + 78, console + 86));
        assertEquals("00000001", text.substring(console + 86, console + 94));
        // File data starts on a 4-byte boundary right after the padded name.
        int init = text.indexOf("init\0") - 110;
        int dataStart = (init + 110 + 5 + 3) & ~3;
        assertEquals("#!/bin/sh", text.substring(dataStart, dataStart + 9));
        assertTrue(text.contains("busybox"));
        assertTrue(text.contains("TRAILER!!!\0"));
    }

    /**
     * Two archives of the same entries, one stamped 0 and one 0x7fffffff (every hex digit differs), differ in each
     * header's mtime field, every byte of it, and nowhere else: no other clock reaches the bytes.
     */
    @Test
    void same_entries_give_identical_bytes_and_mtime_is_the_only_time() throws IOException {
        assertArrayEquals(sample(0), sample(0));
        byte[] early = sample(0);
        byte[] late = sample(0x7fffffffL);
        assertEquals(early.length, late.length);
        boolean[] mtime = new boolean[early.length];
        List<Integer> headers = headerOffsets(early);
        assertEquals(5, headers.size(), "four entries and the trailer");
        for (int header : headers) {
            assertEquals("00000000", ascii(early, header + 46, header + 54));
            assertEquals("7fffffff", ascii(late, header + 46, header + 54));
            for (int i = header + 46; i < header + 54; i++) {
                mtime[i] = true;
            }
        }
        for (int i = 0; i < early.length; i++) {
            assertEquals(mtime[i], early[i] != late[i], "byte " + i + (mtime[i] ? " (an mtime field)" : ""));
        }
    }

    /** Where each newc header starts, walking the archive by its headers' name and file sizes up to the trailer. */
    private static List<Integer> headerOffsets(byte[] archive) {
        List<Integer> offsets = new ArrayList<>();
        int at = 0;
        while (true) {
            assertEquals("070701", ascii(archive, at, at + 6), "a header at " + at);
            offsets.add(at);
            int fileSize = Integer.parseInt(ascii(archive, at + 54, at + 62), 16);
            int nameSize = Integer.parseInt(ascii(archive, at + 94, at + 102), 16);
            String name = ascii(archive, at + 110, at + 110 + nameSize - 1);
            if (name.equals("TRAILER!!!")) {
                return offsets;
            }
            at = align4(align4(at + 110 + nameSize) + fileSize);
        }
    }

    private static int align4(int offset) {
        return (offset + 3) & ~3;
    }

    private static String ascii(byte[] bytes, int from, int to) {
        return new String(bytes, from, to - from, StandardCharsets.US_ASCII);
    }
}
