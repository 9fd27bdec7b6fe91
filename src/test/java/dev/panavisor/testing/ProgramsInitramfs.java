package dev.panavisor.testing;

import dev.panavisor.image.CpioArchive;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The default guest's initramfs plus the lab scenarios' own guest programs in {@code /bin}: {@code vsock-pipe} (the
 * guest side of the vsock scenarios) and {@code udp-send} (a burst of datagrams, for the passt that stops reading),
 * each compiled here from {@code dev/panavisor/vmm/NAME.c} with gcc -static. Linux unpacks concatenated archives in
 * turn (init/initramfs.c), so the programs are a small uncompressed cpio appended to the gzip'd default one, at a
 * 4-byte boundary (zeros between archives are skipped).
 */
public final class ProgramsInitramfs {
    /** The programs, by the name of their source file without {@code .c}. */
    static final String[] PROGRAMS = {"vsock-pipe", "udp-send"};

    private ProgramsInitramfs() {
    }

    /** Writes {@code defaultInitramfs} and the programs after it to {@code file}, building in {@code file}'s folder. */
    public static Path write(Path defaultInitramfs, Path file) throws IOException, InterruptedException {
        Path dir = file.toAbsolutePath().getParent();
        byte[] base = Files.readAllBytes(defaultInitramfs);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(base);
            out.write(new byte[(4 - base.length % 4) % 4]);
            try (CpioArchive cpio = new CpioArchive(out, 0)) {
                for (String program : PROGRAMS) {
                    cpio.file("bin/" + program, 0755, Files.readAllBytes(compile(dir, program)));
                }
            }
        }
        return file;
    }

    private static Path compile(Path dir, String program) throws IOException, InterruptedException {
        Path source = dir.resolve(program + ".c");
        try (InputStream in = ProgramsInitramfs.class.getResourceAsStream("/dev/panavisor/vmm/" + program + ".c")) {
            Files.write(source, in.readAllBytes());
        }
        Path binary = dir.resolve(program);
        Process gcc = new ProcessBuilder("gcc", "-static", "-O2", "-o", binary.toString(), source.toString())
                .redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes());
        if (!gcc.waitFor(2, TimeUnit.MINUTES) || gcc.exitValue() != 0) {
            throw new IOException("gcc -static " + program + ".c failed: " + output);
        }
        return binary;
    }
}
