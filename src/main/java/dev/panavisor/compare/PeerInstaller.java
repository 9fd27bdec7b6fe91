package dev.panavisor.compare;

import dev.panavisor.image.PackageInstalls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Installs the peers that are missing with {@code apt-get}, the way the lab installs QEMU: only as root, only where
 * apt-get exists, never when PANAVISOR_NO_INSTALL=1. Returns one note per missing package saying what happened,
 * for the report. Runs on the host: inside the lab the root file system is the host's, read-only.
 */
public final class PeerInstaller {
    public static final String NO_INSTALL_VARIABLE = PackageInstalls.NO_INSTALL_VARIABLE;

    private PeerInstaller() {
    }

    public static List<String> installMissing(List<Peer> peers, Consumer<String> progress)
            throws InterruptedException {
        Set<String> packages = new LinkedHashSet<>();
        for (Peer peer : peers) {
            if (peer.programs.stream().anyMatch(p -> Sizes.onPath(p) == null)) {
                packages.add(peer.debianPackage);
            }
        }
        if (packages.isEmpty()) {
            return List.of();
        }
        String refusal = refusal();
        List<String> notes = new ArrayList<>();
        if (refusal != null) {
            packages.forEach(p -> notes.add("package " + p + " is missing and was not installed: " + refusal));
            return notes;
        }
        List<String> command = new ArrayList<>(List.of("apt-get", "install", "-y", "-q"));
        command.addAll(packages);
        progress.accept("installing " + String.join(", ", packages) + " with apt-get: the comparison's peers need them ("
                + NO_INSTALL_VARIABLE + "=1 prevents this)");
        try {
            Process apt = new ProcessBuilder(command).redirectErrorStream(true).start();
            String log = new String(apt.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = apt.waitFor();
            for (String p : packages) {
                notes.add(status == 0 ? "package " + p + " was installed with apt-get for this run"
                        : "package " + p + " could not be installed (apt-get exit " + status + "): "
                                + lastLine(log));
            }
        } catch (IOException e) {
            packages.forEach(p -> notes.add("package " + p + " could not be installed: " + e.getMessage()));
        }
        return notes;
    }

    /** Why installing is not allowed here, or null. */
    static String refusal() {
        if (PackageInstalls.forbidden()) {
            return NO_INSTALL_VARIABLE + "=1";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not running as root (install it with apt-get)";
        }
        if (Sizes.onPath("apt-get") == null) {
            return "no apt-get on this host";
        }
        return null;
    }

    private static String lastLine(String log) {
        List<String> lines = log.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "" : lines.getLast().strip();
    }
}
