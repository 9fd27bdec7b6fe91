package dev.panavisor.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * An initramfs with one extra program in it, for the benchmarks' guest programs ({@code tools/bench/io-load.c}
 * for {@code bench io} and {@code bench compare}): a small uncompressed cpio archive holding the program, followed by
 * the unchanged base initramfs. The kernel unpacks concatenated archives in turn, each compressed or not (Linux
 * Documentation/driver-api/early-userspace/buffer-format.rst), the way early microcode updates travel.
 */
public final class InitramfsWithProgram {
    private InitramfsWithProgram() {
    }

    /**
     * Writes {@code result}: the archive of {@code program} at {@code guestPath}, then {@code base}. The base must not
     * have {@code guestPath}'s directory (it would be overwritten, not merged).
     */
    public static Path write(Path base, String guestPath, Path program, Path result) throws IOException {
        if (!Files.isRegularFile(base)) {
            throw new NoSuchFileException(base.toString(), null, "initramfs not found");
        }
        try (OutputStream out = Files.newOutputStream(result)) {
            out.write(archive(guestPath, Files.readAllBytes(program)));
            Files.copy(base, out);
        }
        return result;
    }

    /** The cpio archive holding only {@code guestPath} (its length is a multiple of 4, as the next archive needs). */
    public static byte[] archive(String guestPath, byte[] program) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioArchive cpio = new CpioArchive(bytes, 0)) {
            cpio.directory(guestPath.substring(0, guestPath.lastIndexOf('/')), 0755);
            cpio.file(guestPath, 0755, program);
        }
        return bytes.toByteArray();
    }
}
