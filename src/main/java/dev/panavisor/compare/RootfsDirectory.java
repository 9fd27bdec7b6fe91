package dev.panavisor.compare;

import dev.panavisor.host.HostCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The default guest's busybox root file system as a directory, so containers run the very binaries the microVMs
 * run. It is copied out of the guest's ext4 image with e2fsprogs' {@code debugfs -R "rdump / DIR"}, which reads the
 * image as a file: no loop device, no mount, no root needed.
 */
public final class RootfsDirectory {
    private RootfsDirectory() {
    }

    /**
     * Extracts {@code ext4Image} into {@code directory} (created; must not exist yet) and checks busybox is there.
     *
     * @throws IOException with one line that says what failed: debugfs missing, or its last words
     */
    public static Path extract(Path ext4Image, Path directory) throws IOException, InterruptedException {
        Files.createDirectories(directory);
        String what = "cannot extract the guest's root file system from " + ext4Image + " with debugfs (e2fsprogs)";
        Process debugfs;
        try {
            debugfs = new ProcessBuilder(List.of("debugfs", "-R", "rdump / " + directory.toAbsolutePath(),
                    ext4Image.toAbsolutePath().toString())).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(what + ": debugfs cannot be run (install e2fsprogs): " + e.getMessage(), e);
        }
        String log = new String(debugfs.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (debugfs.waitFor() != 0 || !Files.isExecutable(busybox(directory))) {
            // Its last lines on one line: the first is only debugfs's version banner.
            throw new IOException(what + ": " + HostCommand.lastLines(log, 2));
        }
        return directory;
    }

    public static Path busybox(Path rootfs) {
        return rootfs.resolve("bin/busybox");
    }
}
