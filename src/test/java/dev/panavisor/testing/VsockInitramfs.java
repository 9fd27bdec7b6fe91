package dev.panavisor.testing;

import dev.panavisor.image.CpioArchive;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The default guest's initramfs plus {@code /bin/vsock-pipe} (the guest side of the vsock lab scenarios), compiled
 * here from {@code dev/panavisor/vmm/vsock-pipe.c} with gcc -static. Linux unpacks concatenated archives in turn
 * (init/initramfs.c), so the program is a small uncompressed cpio appended to the gzip'd default one, at a 4-byte
 * boundary (zeros between archives are skipped).
 */
public final class VsockInitramfs {
    private VsockInitramfs() {
    }

    /** Writes {@code defaultInitramfs} with vsock-pipe appended to {@code file}, building in {@code file}'s folder. */
    public static Path write(Path defaultInitramfs, Path file) throws IOException, InterruptedException {
        Path dir = file.toAbsolutePath().getParent();
        Path source = dir.resolve("vsock-pipe.c");
        try (InputStream in = VsockInitramfs.class.getResourceAsStream("/dev/panavisor/vmm/vsock-pipe.c")) {
            Files.write(source, in.readAllBytes());
        }
        Path binary = dir.resolve("vsock-pipe");
        Process gcc = new ProcessBuilder("gcc", "-static", "-O2", "-o", binary.toString(), source.toString())
                .redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes());
        if (!gcc.waitFor(2, TimeUnit.MINUTES) || gcc.exitValue() != 0) {
            throw new IOException("gcc -static vsock-pipe.c failed: " + output);
        }
        byte[] base = Files.readAllBytes(defaultInitramfs);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(base);
            out.write(new byte[(4 - base.length % 4) % 4]);
            try (CpioArchive cpio = new CpioArchive(out, 0)) {
                cpio.file("bin/vsock-pipe", 0755, Files.readAllBytes(binary));
            }
        }
        return file;
    }
}
