package dev.panavisor.compare;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What container runtimes need inside the nested lab, whose root is the host's, read-only over 9p: a writable
 * /run (runc and crun keep their state under /run) and a cgroup2 hierarchy on /sys/fs/cgroup (L1 mounts none).
 * Only ever done inside the lab, which is thrown away when the command ends.
 */
final class LabMounts {
    private LabMounts() {
    }

    static void prepare(PrintWriter progress) throws InterruptedException {
        if (!Files.isWritable(Path.of("/run")) || !canCreateIn(Path.of("/run"))) {
            mount(progress, List.of("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"));
        }
        if (!Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers"))) {
            mount(progress, List.of("mount", "-t", "cgroup2", "none", "/sys/fs/cgroup"));
        }
    }

    private static boolean canCreateIn(Path dir) {
        try {
            Files.delete(Files.createTempFile(dir, "probe", ""));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void mount(PrintWriter progress, List<String> command) throws InterruptedException {
        try {
            Process mount = new ProcessBuilder(command).redirectErrorStream(true).start();
            String log = new String(mount.getInputStream().readAllBytes()).strip();
            if (mount.waitFor() != 0) {
                progress.println("(lab set-up: " + String.join(" ", command) + " failed: " + log + ")");
            }
        } catch (IOException e) {
            progress.println("(lab set-up: " + String.join(" ", command) + " failed: " + e.getMessage() + ")");
        }
    }
}
