package dev.panavisor.image;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What goes into the guest's root file system, independent of how it is packed (ext4 image or initramfs).
 *
 * <p>The system is busybox-static: one static binary and a symbolic link per applet, plus the {@code /init}
 * script, the boot marker program and the few directories and files that /init and busybox expect. Entries
 * are kept sorted by path so both writers emit them in one stable order, whatever order they were added in.
 */
public final class RootfsLayout {
    /** One file system entry; paths are absolute ("/bin/sh"). */
    public sealed interface Entry permits Directory, File, Symlink, CharacterDevice {
        String path();
    }

    public record Directory(String path, int permissions) implements Entry {
    }

    public record File(String path, int permissions, byte[] content) implements Entry {
        public File {
            content = content.clone();
        }

        @Override
        public byte[] content() {
            return content.clone();
        }
    }

    public record Symlink(String path, String target) implements Entry {
    }

    /**
     * A device node. Only the initramfs carries one ({@code /dev/console}, which the kernel opens before /init
     * runs); on the ext4 root the kernel mounts devtmpfs on /dev first, and creating a node would need root.
     */
    public record CharacterDevice(String path, int permissions, int major, int minor) implements Entry {
    }

    /** The directories of the guest system, all owned by root. */
    static final List<String> DIRECTORIES = List.of("/bin", "/dev", "/etc", "/proc", "/root", "/run", "/sbin",
            "/sys", "/tmp", "/usr", "/usr/bin", "/usr/sbin");

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /**
     * The standard Panavisor guest.
     *
     * @param busybox    the static busybox binary
     * @param applets    busybox's applets as paths relative to / ("bin/sh", "sbin/reboot"), from
     *                   {@code busybox --list-full}
     * @param init       the /init script
     * @param bootMarker the compiled boot marker program
     */
    public static RootfsLayout busyboxSystem(byte[] busybox, List<String> applets, byte[] init, byte[] bootMarker) {
        RootfsLayout layout = new RootfsLayout();
        for (String directory : DIRECTORIES) {
            layout.add(new Directory(directory, 0755));
        }
        layout.add(new Directory("/tmp", 01777));
        layout.add(new Directory("/root", 0700));
        layout.add(new CharacterDevice("/dev/console", 0600, 5, 1));
        layout.add(new File("/init", 0755, init));
        layout.add(new File("/bin/busybox", 0755, busybox));
        layout.add(new File("/sbin/boot-marker", 0755, bootMarker));
        // On a disk root the kernel runs /sbin/init (unless init= says otherwise): the same script.
        layout.add(new Symlink("/sbin/init", "/init"));
        layout.add(new File("/etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n".getBytes()));
        layout.add(new File("/etc/group", 0644, "root:x:0:\n".getBytes()));
        for (String applet : applets) {
            String path = "/" + applet.strip();
            if (!applet.isBlank() && !layout.entries.containsKey(path)) {
                layout.add(new Symlink(path, "/bin/busybox"));
            }
        }
        return layout;
    }

    /** Adds an entry, replacing one at the same path; its parent directory must already be in the layout. */
    public void add(Entry entry) {
        String path = entry.path();
        if (!path.startsWith("/") || path.length() < 2 || path.endsWith("/") || path.contains("//")
                || path.contains("/./") || path.contains("/../")) {
            throw new IllegalArgumentException("not a normalized absolute path: " + path);
        }
        String parent = path.substring(0, path.lastIndexOf('/'));
        if (!parent.isEmpty() && !(entries.get(parent) instanceof Directory)) {
            throw new IllegalArgumentException("no directory " + parent + " for " + path);
        }
        entries.put(path, entry);
    }

    /**
     * The entries in path order, so that every directory comes before what it contains (a parent's path is a
     * prefix of its children's, and '/' sorts before every other character of a file name).
     */
    public List<Entry> entries() {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparing(entry -> entry.path().replace('/', '\0')));
        return sorted;
    }
}
