package dev.panavisor.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * An OCI runtime bundle for runc and crun: a directory with {@code config.json} whose root is the guest's busybox
 * root file system (OCI Runtime Specification 1.0, config.md and config-linux.md). It asks for what a container
 * is usually given and no more: its own PID, IPC, UTS, mount and network namespaces (no network device: the
 * equivalent of podman's {@code --network=none}), a read-only root, fresh /proc, /dev, /dev/pts, /dev/shm, a
 * read-only /sys, the default capability set of {@code runc spec}, and one writable bind mount, /scratch, for the
 * I/O test. No seccomp profile: neither runtime adds one of its own (podman does; the isolation row shows it).
 * The network rows' workload joins an existing namespace instead, by its path ({@link NetworkLinks}).
 */
public final class OciBundle {
    public static final String OCI_VERSION = "1.0.2";
    /** Where the I/O test's directory appears inside containers. */
    public static final String SCRATCH = "/scratch";
    /** The capabilities {@code runc spec} gives a container by default. */
    static final List<String> DEFAULT_CAPABILITIES = List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private OciBundle() {
    }

    /**
     * Writes {@code bundle/config.json} for a container running {@code args} on {@code rootfs}.
     *
     * @param network the path of a network namespace to join, or null for a new one with no device
     */
    public static Path write(Path bundle, Path rootfs, Path scratch, List<String> args, String network)
            throws IOException {
        Files.createDirectories(bundle);
        Path config = bundle.resolve("config.json");
        JSON.writeValue(config.toFile(), config(rootfs, scratch, args, network));
        return config;
    }

    /** The configuration itself (config.md); {@code network} as for {@link #write}. */
    public static ObjectNode config(Path rootfs, Path scratch, List<String> args, String network) {
        ObjectNode config = JSON.createObjectNode();
        config.put("ociVersion", OCI_VERSION);
        ObjectNode process = config.putObject("process");
        process.put("terminal", false);
        process.putObject("user").put("uid", 0).put("gid", 0);
        strings(process.putArray("args"), args);
        strings(process.putArray("env"), List.of("PATH=/sbin:/bin:/usr/sbin:/usr/bin", "HOME=/root"));
        process.put("cwd", "/");
        ObjectNode capabilities = process.putObject("capabilities");
        for (String set : List.of("bounding", "effective", "permitted")) {
            strings(capabilities.putArray(set), DEFAULT_CAPABILITIES);
        }
        // The hard limit must not exceed the caller's: raising it needs CAP_SYS_RESOURCE (podman trips on this).
        process.putArray("rlimits").addObject().put("type", "RLIMIT_NOFILE").put("hard", 1024).put("soft", 1024);
        process.put("noNewPrivileges", true);
        config.putObject("root").put("path", rootfs.toAbsolutePath().toString()).put("readonly", true);
        config.put("hostname", "container");
        ArrayNode mounts = config.putArray("mounts");
        mount(mounts, "/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev"));
        mount(mounts, "/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k"));
        mount(mounts, "/dev/pts", "devpts", "devpts",
                List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"));
        mount(mounts, "/dev/shm", "tmpfs", "shm", List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"));
        mount(mounts, "/tmp", "tmpfs", "tmpfs", List.of("nosuid", "nodev", "mode=1777"));
        mount(mounts, "/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro"));
        mount(mounts, SCRATCH, "bind", scratch.toAbsolutePath().toString(), List.of("rbind", "rw"));
        ObjectNode linux = config.putObject("linux");
        ArrayNode namespaces = linux.putArray("namespaces");
        for (String type : List.of("pid", "ipc", "uts", "mount", "network")) {
            ObjectNode namespace = namespaces.addObject().put("type", type);
            if (type.equals("network") && network != null) {
                namespace.put("path", network); // config-linux.md: a path joins that namespace, none is created
            }
        }
        strings(linux.putArray("maskedPaths"), List.of("/proc/kcore", "/proc/keys", "/proc/timer_list",
                "/sys/firmware"));
        strings(linux.putArray("readonlyPaths"), List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger"));
        return config;
    }

    private static void mount(ArrayNode mounts, String destination, String type, String source, List<String> options) {
        ObjectNode mount = mounts.addObject();
        mount.put("destination", destination).put("type", type).put("source", source);
        strings(mount.putArray("options"), options);
    }

    private static void strings(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }
}
