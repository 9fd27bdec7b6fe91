package dev.panavisor.compare;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The peers of the comparison: two VMMs, four container runtimes, and the host's own fork/exec as the floor.
 * Each names the programs it needs on the PATH and the Debian package that brings them.
 */
public enum Peer {
    HOST("host", "host fork/exec", Kind.HOST, List.of(), ""),
    PANAVISOR("panavisor", "Panavisor microVM", Kind.VM, List.of(), ""),
    QEMU("qemu", "QEMU microvm", Kind.VM, List.of("qemu-system-x86_64"), "qemu-system-x86"),
    RUNC("runc", "runc", Kind.CONTAINER, List.of("runc"), "runc"),
    CRUN("crun", "crun", Kind.CONTAINER, List.of("crun"), "crun"),
    BWRAP("bwrap", "bubblewrap", Kind.CONTAINER, List.of("bwrap"), "bubblewrap"),
    PODMAN("podman", "podman", Kind.CONTAINER, List.of("podman", "conmon", "runc"), "podman");

    /** What a peer is, which decides how its memory is counted and what isolates it. */
    public enum Kind { HOST, VM, CONTAINER }

    public final String id;
    public final String label;
    public final Kind kind;
    /** Programs that must be on the PATH (Panavisor is this jar and its JVM). */
    public final List<String> programs;
    /** The Debian package that installs them ("" when there is nothing to install). */
    public final String debianPackage;

    Peer(String id, String label, Kind kind, List<String> programs, String debianPackage) {
        this.id = id;
        this.label = label;
        this.kind = kind;
        this.programs = programs;
        this.debianPackage = debianPackage;
    }

    /** All ids, for messages. */
    public static String ids() {
        return String.join(", ", Arrays.stream(values()).map(p -> p.id).toList());
    }

    /**
     * Parses {@code --only}'s comma-separated list ("panavisor,runc"); the host floor is always measured, since
     * every ratio is taken against it. An unknown name is an {@link IllegalArgumentException} naming the valid ones.
     */
    public static List<Peer> parseList(String list) {
        if (list == null || list.isBlank()) {
            return List.of(values());
        }
        List<Peer> chosen = new ArrayList<>(List.of(HOST));
        for (String word : list.split(",")) {
            String name = word.strip().toLowerCase(Locale.ROOT);
            Peer peer = Arrays.stream(values()).filter(p -> p.id.equals(name) || p.name().equalsIgnoreCase(name))
                    .findFirst().orElseThrow(() -> new IllegalArgumentException(
                            "unknown peer '" + word.strip() + "' in --only (known: " + ids() + ")"));
            if (!chosen.contains(peer)) {
                chosen.add(peer);
            }
        }
        chosen.sort(null);
        return List.copyOf(chosen);
    }
}
