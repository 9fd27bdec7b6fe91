package dev.panavisor.host;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tells a statically linked 64-bit ELF executable from anything else: one with no PT_INTERP program header needs no
 * dynamic loader (System V ABI, "Program Interpreter"), so it runs where no C library is, as busybox must in a
 * guest's initramfs and in the lab's L1.
 */
public final class StaticElf {
    private static final int PT_INTERP = 3;
    /** Program headers sit near the start of an executable; this much of a file is enough to see them all. */
    private static final int HEAD = 64 * 1024;

    private StaticElf() {
    }

    /** True when {@code elf} (a whole file or its first bytes) is a 64-bit ELF with no program interpreter. */
    public static boolean isStatic(byte[] elf) {
        if (elf.length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2) {
            return false;
        }
        ByteBuffer header = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        long programHeaders = header.getLong(0x20);
        int entrySize = Short.toUnsignedInt(header.getShort(0x36));
        int count = Short.toUnsignedInt(header.getShort(0x38));
        for (int i = 0; i < count; i++) {
            long offset = programHeaders + (long) i * entrySize;
            if (offset < 0 || offset + 4 > elf.length) {
                return false; // a header past what we hold (or a corrupt offset): not provably static
            }
            if (header.getInt((int) offset) == PT_INTERP) {
                return false;
            }
        }
        return true;
    }

    /** The same test on a file; false for one that cannot be read. */
    public static boolean isStatic(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return isStatic(in.readNBytes(HEAD));
        } catch (IOException e) {
            return false;
        }
    }
}
