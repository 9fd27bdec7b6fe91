package dev.panavisor.image;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads a cpio "newc" archive back, so tests can check what an initramfs holds. */
final class NewcReader {
    record Entry(String name, int mode, int uid, int gid, long mtime, int rdevMajor, int rdevMinor, byte[] data) {
    }

    private NewcReader() {
    }

    /** Entries by name, in archive order, up to (not including) the trailer. */
    static Map<String, Entry> read(byte[] archive) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        int offset = 0;
        while (true) {
            String header = new String(archive, offset, 110, StandardCharsets.US_ASCII);
            if (!header.startsWith("070701")) {
                throw new IllegalArgumentException("bad magic at " + offset);
            }
            int mode = field(header, 1);
            int uid = field(header, 2);
            int gid = field(header, 3);
            long mtime = Integer.toUnsignedLong(field(header, 5));
            int size = field(header, 6);
            int rdevMajor = field(header, 9);
            int rdevMinor = field(header, 10);
            int nameSize = field(header, 11);
            String name = new String(archive, offset + 110, nameSize - 1, StandardCharsets.UTF_8);
            int dataStart = align(offset + 110 + nameSize);
            byte[] data = java.util.Arrays.copyOfRange(archive, dataStart, dataStart + size);
            offset = align(dataStart + size);
            if (name.equals("TRAILER!!!")) {
                return entries;
            }
            entries.put(name, new Entry(name, mode, uid, gid, mtime, rdevMajor, rdevMinor, data));
        }
    }

    private static int field(String header, int index) {
        return Integer.parseUnsignedInt(header.substring(6 + index * 8, 14 + index * 8), 16);
    }

    private static int align(int offset) {
        return (offset + 3) & ~3;
    }
}
