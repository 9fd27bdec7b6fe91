package dev.panavisor.lab;

import dev.panavisor.host.FileTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Each lab run's private temporary directory ({@code panavisor-lab-<pid>-<random>} under java.io.tmpdir): the
 * initramfs and the four sockets. Short paths matter: a Unix socket path must fit in 108 bytes.
 *
 * <p>The owner's pid in the name lets a later run remove directories whose owner was killed with SIGKILL before
 * it could clean up (nothing else can be left behind then: QEMU dies with its parent through pdeathsig).
 */
final class RunDirectories {
    private static final String PREFIX = "panavisor-lab-";

    private RunDirectories() {
    }

    static Path create() {
        try {
            return Files.createTempDirectory(PREFIX + ProcessHandle.current().pid() + "-");
        } catch (IOException e) {
            throw new LabException("cannot create a temporary directory for the lab: " + e.getMessage(), e);
        }
    }

    /** Deletes run directories whose owning process no longer exists. */
    static void removeStale() {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        try (Stream<Path> entries = Files.list(tmp)) {
            entries.filter(p -> p.getFileName().toString().startsWith(PREFIX))
                    .filter(RunDirectories::ownerIsGone)
                    .forEach(FileTree::deleteQuietly);
        } catch (IOException e) {
            // Housekeeping only.
        }
    }

    private static boolean ownerIsGone(Path dir) {
        String rest = dir.getFileName().toString().substring(PREFIX.length());
        int dash = rest.indexOf('-');
        if (dash <= 0) {
            return false;
        }
        try {
            return ProcessHandle.of(Long.parseLong(rest.substring(0, dash))).isEmpty();
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
