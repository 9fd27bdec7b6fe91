package dev.panavisor.image;

import dev.panavisor.host.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Packs a {@link RootfsLayout} as an ext4 file system image, without root privileges or loop devices.
 *
 * <p>The layout is written to a staging directory and {@code mke2fs -d} copies it into a new image file
 * (mke2fs(8)). Three things would make two images of the same layout differ, and each has a fix:
 * <ul>
 *   <li>times mke2fs takes from the clock (creation, last write, inode creation): the environment variable
 *       E2FSPROGS_FAKE_TIME, which libext2fs reads instead of the clock (it must not be 0, which means unset);</li>
 *   <li>the random file system UUID and directory hash seed: {@code -U} and {@code -E hash_seed=} with fixed
 *       values;</li>
 *   <li>what mke2fs copies from the staging files' stat: owners (the building user) and the change time, which
 *       no program can set: a debugfs(8) script rewrites uid, gid and the three times of every inode.</li>
 * </ul>
 */
public final class Ext4Image {
    /** The root file system's UUID, fixed for reproducibility (and handy: root=UUID=... always names it). */
    public static final String UUID = "a5f3c2d1-7e6b-4c59-8d0a-50a4a715ed01";
    private static final String LABEL = "panavisor-root";
    /** S_IFDIR, the file type bits of a directory in an inode's mode. */
    private static final int DIRECTORY_TYPE = 040000;

    private Ext4Image() {
    }

    /**
     * Creates {@code image} (replacing it) holding the layout.
     *
     * @param sizeBytes image size; must hold the layout plus the journal
     * @param mtime     every inode's atime, mtime, ctime and crtime, and the superblock times (must be > 0)
     * @param scratch   an empty directory for the staging tree
     */
    public static void write(RootfsLayout layout, Path image, long sizeBytes, long mtime, Path scratch)
            throws IOException {
        if (mtime <= 0) {
            throw new IllegalArgumentException("E2FSPROGS_FAKE_TIME needs a positive time, got " + mtime);
        }
        Path stage = scratch.resolve("rootfs");
        stage(layout, stage);
        Map<String, String> fakeTime = Map.of("E2FSPROGS_FAKE_TIME", Long.toString(mtime));
        Files.deleteIfExists(image);
        HostCommand.of("mke2fs", "-q", "-F", "-t", "ext4", "-L", LABEL, "-U", UUID,
                        "-E", "hash_seed=" + UUID + ",root_owner=0:0",
                        "-d", stage.toString(), image.toString(), (sizeBytes / 1024) + "k")
                .withEnvironment(fakeTime).check();
        Path script = scratch.resolve("normalize.debugfs");
        Files.writeString(script, normalizeScript(layout, mtime));
        HostCommand.of("debugfs", "-w", "-f", script.toString(), image.toString())
                .withEnvironment(fakeTime).check();
    }

    /** Writes the layout as real files; device nodes are left out (see {@link RootfsLayout.CharacterDevice}). */
    static void stage(RootfsLayout layout, Path stage) throws IOException {
        Files.createDirectories(stage);
        for (RootfsLayout.Entry entry : layout.entries()) {
            Path path = stage.resolve(entry.path().substring(1));
            switch (entry) {
                case RootfsLayout.Directory directory -> {
                    Files.createDirectories(path);
                    Files.setPosixFilePermissions(path, permissions(directory.permissions()));
                }
                case RootfsLayout.File file -> {
                    Files.write(path, file.content());
                    Files.setPosixFilePermissions(path, permissions(file.permissions()));
                }
                case RootfsLayout.Symlink link -> Files.createSymbolicLink(path, Path.of(link.target()));
                case RootfsLayout.CharacterDevice device -> {
                }
            }
        }
        // Restore the directories' own modes last: 01777 etc. may not survive creating children on every host.
        for (RootfsLayout.Entry entry : layout.entries()) {
            if (entry instanceof RootfsLayout.Directory directory) {
                Files.setPosixFilePermissions(stage.resolve(directory.path().substring(1)),
                        permissions(directory.permissions()));
            }
        }
    }

    /**
     * debugfs commands that give every inode owner root and the given times ({@code sif} = set_inode_field;
     * it acts on a symbolic link itself, not on its target).
     */
    static String normalizeScript(RootfsLayout layout, long mtime) {
        StringBuilder script = new StringBuilder();
        appendNormalize(script, "/", mtime);
        appendNormalize(script, "/lost+found", mtime);
        for (RootfsLayout.Entry entry : layout.entries()) {
            if (!(entry instanceof RootfsLayout.CharacterDevice)) {
                appendNormalize(script, entry.path(), mtime);
            }
            // The sticky bit (/tmp) does not pass through Java's POSIX permissions: set the whole mode here.
            if (entry instanceof RootfsLayout.Directory directory && directory.permissions() > 0777) {
                script.append("sif ").append(directory.path()).append(" mode 0")
                        .append(Integer.toOctalString(DIRECTORY_TYPE | directory.permissions())).append('\n');
            }
        }
        return script.toString();
    }

    private static void appendNormalize(StringBuilder script, String path, long mtime) {
        if (path.chars().anyMatch(c -> c <= ' ' || c == '"')) {
            throw new IllegalArgumentException("path not expressible in a debugfs script: " + path);
        }
        // debugfs reads "@N" as seconds since the epoch (a bare number would be taken as YYYYMMDD...).
        String time = "@" + mtime;
        for (String field : new String[] {"uid 0", "gid 0", "atime " + time, "mtime " + time, "ctime " + time,
                "crtime " + time}) {
            script.append("sif ").append(path).append(' ').append(field).append('\n');
        }
    }

    /** The lower 9 permission bits as a Java set (setuid/setgid/sticky bits are not expressible there). */
    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < bits.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(bits[bit]);
            }
        }
        return set;
    }
}
