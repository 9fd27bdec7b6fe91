package dev.panavisor.cli;

import dev.panavisor.image.InitramfsWithProgram;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The files {@code panavisor bench io} gives both VMMs: the guest program io-load and an initramfs that carries
 * it (the disk image is a {@link dev.panavisor.image.BenchDisk}).
 */
final class IoBenchFiles {
    private IoBenchFiles() {
    }

    /**
     * Builds {@code tools/bench/io-load.c} with {@code gcc -static} into {@code dir}: static, because the guest's
     * root has busybox and nothing else, no C library to link against.
     */
    static Path buildLoadProgram(Path dir) throws IOException, InterruptedException {
        String home = System.getenv("PANAVISOR_HOME");
        Path source = Path.of(home == null ? "." : home, "tools", "bench", "io-load.c");
        if (!Files.isRegularFile(source)) {
            throw new CommandFailedException(source + " not found: run bench io from the source tree "
                    + "(./panavisor bench io)");
        }
        Path binary = dir.resolve("io-load");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-O2", "-static", "-o", binary.toString(), source.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new CommandFailedException("cannot run gcc to build " + source + " (install gcc): " + e.getMessage());
        }
        String log = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (gcc.waitFor() != 0) {
            throw new CommandFailedException("gcc -static failed on " + source + " (a static C library is needed: "
                    + "libc6-dev): " + log.strip());
        }
        return binary;
    }

    /** The guest's initramfs with io-load added as {@link IoWorkload#GUEST_PROGRAM} ({@link InitramfsWithProgram}). */
    static Path benchInitramfs(Path base, Path program, Path dir) throws IOException {
        if (!Files.isRegularFile(base)) {
            throw new CommandFailedException("initramfs not found: " + base);
        }
        return InitramfsWithProgram.write(base, IoWorkload.GUEST_PROGRAM, program,
                dir.resolve("initramfs-bench-io.cpio.gz"));
    }

    /** The cpio archive holding only /bench/io-load. */
    static byte[] loadArchive(byte[] program) throws IOException {
        return InitramfsWithProgram.archive(IoWorkload.GUEST_PROGRAM, program);
    }
}
