package dev.panavisor.host;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class StaticElfTest {
    /** A 64-bit ELF header with {@code count} program headers of the given types, right after the header. */
    private static byte[] elf(int... types) {
        ByteBuffer b = ByteBuffer.allocate(64 + 56 * types.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2});
        b.putLong(0x20, 64).putShort(0x36, (short) 56).putShort(0x38, (short) types.length);
        for (int i = 0; i < types.length; i++) {
            b.putInt(64 + 56 * i, types[i]);
        }
        return b.array();
    }

    @Test
    void no_interpreter_header_is_static_one_is_not() {
        assertTrue(StaticElf.isStatic(elf(1, 1, 4))); // PT_LOAD, PT_LOAD, PT_NOTE
        assertFalse(StaticElf.isStatic(elf(6, 3, 1))); // PT_PHDR, PT_INTERP, PT_LOAD
    }

    @Test
    void not_an_elf_or_a_corrupt_one_is_not_static() {
        assertFalse(StaticElf.isStatic("#!/bin/sh\n".getBytes()));
        assertFalse(StaticElf.isStatic(new byte[64]));
        byte[] pastTheEnd = elf(1);
        ByteBuffer.wrap(pastTheEnd).order(ByteOrder.LITTLE_ENDIAN).putLong(0x20, Long.MIN_VALUE + 8);
        assertFalse(StaticElf.isStatic(pastTheEnd), "a program-header offset that overflows");
    }

    @Test
    void real_files_the_jdk_launcher_is_dynamic() throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        assertFalse(StaticElf.isStatic(java));
        assertFalse(StaticElf.isStatic(Files.readAllBytes(java)));
        assertFalse(StaticElf.isStatic(Path.of("/nonexistent/file")));
    }
}
