package dev.panavisor.testing;

import dev.panavisor.image.CpioArchive;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An initramfs whose /init is not Panavisor's (no boot marker, banner or command mode): the host's static busybox
 * and a script that prints {@link #GREETING} with the kernel release and resets the machine. It stands for any
 * other distribution's initramfs: `run` without --exec must boot it and show its console.
 */
public final class ForeignInitramfs {
    public static final String GREETING = "foreign-init-says-hello";
    private static final String INIT = """
            #!/bin/busybox sh
            /bin/busybox echo "%s from $(/bin/busybox uname -r)"
            /bin/busybox reboot -f
            """.formatted(GREETING);

    private ForeignInitramfs() {
    }

    /** Writes the archive to {@code file}; needs a static busybox at /bin/busybox (Debian's busybox-static). */
    public static Path write(Path file) throws IOException {
        byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
        try (OutputStream out = Files.newOutputStream(file); CpioArchive cpio = new CpioArchive(out, 0)) {
            cpio.directory("dev", 0755);
            cpio.characterDevice("dev/console", 0600, 5, 1);
            cpio.directory("bin", 0755);
            cpio.file("bin/busybox", 0755, busybox);
            cpio.file("init", 0755, INIT.getBytes(StandardCharsets.US_ASCII));
        }
        return file;
    }
}
