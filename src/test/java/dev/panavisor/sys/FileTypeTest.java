package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** stat(2)'s file types, read from real files of each kind. */
class FileTypeTest {
    @TempDir
    Path dir;

    @Test
    void each_kind_of_file_is_told_apart() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertEquals(FileType.REGULAR, FileType.of(file));
        assertEquals(FileType.DIRECTORY, FileType.of(dir));
        assertEquals(FileType.CHARACTER_DEVICE, FileType.of(Path.of("/dev/null")));
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        assertEquals(FileType.SYMBOLIC_LINK, FileType.of(link), "the link itself, not what it leads to");
        Path socket = dir.resolve("socket");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            assertEquals(FileType.SOCKET, FileType.of(socket));
        }
        assertThrows(NoSuchFileException.class, () -> FileType.of(dir.resolve("nothing")));
    }

    @Test
    void the_mode_word_s_type_bits_decide_and_the_permission_bits_do_not() {
        assertEquals(FileType.FIFO, FileType.ofMode(0010644));
        assertEquals(FileType.BLOCK_DEVICE, FileType.ofMode(0060660));
        assertEquals(FileType.SOCKET, FileType.ofMode(0140777));
        assertEquals(FileType.REGULAR, FileType.ofMode(0100000));
        assertNull(FileType.ofMode(0030000), "a type no file system gives");
    }
}
