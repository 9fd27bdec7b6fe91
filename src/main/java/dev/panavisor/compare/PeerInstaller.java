package dev.panavisor.compare;

import dev.panavisor.host.DebianPackages;
import dev.panavisor.host.HostException;
import dev.panavisor.host.PackageInstalls;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Installs the peers that are missing through {@link DebianPackages}, by the rule every install follows: only as
 * root, only where apt-get exists, never when PANAVISOR_NO_INSTALL=1. Unlike the image build and the lab it does not
 * stop when it cannot: it returns one note per missing package saying what happened, for the report, and the
 * comparison runs without that peer. Runs on the host: inside the lab the root file system is the host's, read-only.
 */
public final class PeerInstaller {
    public static final String NO_INSTALL_VARIABLE = PackageInstalls.NO_INSTALL_VARIABLE;
    static final String PURPOSE = "the comparison's peers";

    private PeerInstaller() {
    }

    public static List<String> installMissing(List<Peer> peers, Consumer<String> progress) {
        return installMissing(peers, new DebianPackages(progress));
    }

    private static List<String> installMissing(List<Peer> peers, DebianPackages apt) {
        Set<String> packages = new LinkedHashSet<>();
        for (Peer peer : peers) {
            if (peer.programs.stream().anyMatch(p -> Sizes.onPath(p) == null)) {
                packages.add(peer.debianPackage);
            }
        }
        return packages.isEmpty() ? List.of() : install(packages, apt);
    }

    /** Installs {@code packages} with apt-get if this process may, and returns one note per package either way. */
    static List<String> install(Set<String> packages, DebianPackages apt) {
        List<String> notes = new ArrayList<>();
        Optional<DebianPackages.Refusal> refusal = apt.refusal();
        if (refusal.isPresent()) {
            packages.forEach(p -> notes.add("package " + p + " is missing and was not installed: "
                    + refusal.get().note()));
            return notes;
        }
        try {
            // With their recommended packages, as before the merge: a container runtime's helpers are often only that.
            apt.installWithRecommends(List.copyOf(packages), PURPOSE);
            packages.forEach(p -> notes.add("package " + p + " was installed with apt-get for this run"));
        } catch (HostException e) {
            packages.forEach(p -> notes.add("package " + p + " could not be installed: " + e.getMessage()));
        }
        return notes;
    }
}
