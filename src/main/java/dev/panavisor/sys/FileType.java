package dev.panavisor.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The type of a file as {@code stat(2)} gives it: the file type bits of {@code st_mode} (inode(7), "The file type
 * and mode"). {@link Files} answers "regular file", "directory" and "link", but not "socket" or "character device",
 * which Panavisor needs for a vsock socket path and for {@code /dev/kvm}.
 */
public enum FileType {
    FIFO(0010000), CHARACTER_DEVICE(0020000), DIRECTORY(0040000), BLOCK_DEVICE(0060000), REGULAR(0100000),
    SYMBOLIC_LINK(0120000), SOCKET(0140000);

    /** inode(7): the bit field of st_mode that holds the type. */
    private static final int S_IFMT = 0170000;

    private final int bits;

    FileType(int bits) {
        this.bits = bits;
    }

    /** The type of a mode word, or null for one no Linux file system gives. */
    static FileType ofMode(int mode) {
        for (FileType type : values()) {
            if ((mode & S_IFMT) == type.bits) {
                return type;
            }
        }
        return null;
    }

    /**
     * The type of {@code path} itself (a symbolic link is {@link #SYMBOLIC_LINK}, not what it points to).
     *
     * @throws java.nio.file.NoSuchFileException when there is nothing at {@code path}
     * @throws IOException                        when its attributes cannot be read
     */
    public static FileType of(Path path) throws IOException {
        try {
            return ofMode((Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS));
        } catch (UnsupportedOperationException e) { // a file system without POSIX modes
            throw new IOException("cannot read the file type of " + path + ": " + e.getMessage(), e);
        }
    }
}
