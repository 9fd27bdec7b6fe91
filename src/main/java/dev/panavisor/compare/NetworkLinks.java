package dev.panavisor.compare;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.HostCommand;
import dev.panavisor.host.HostException;
import dev.panavisor.host.Privileges;
import dev.panavisor.host.ProcessTree;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The links the network rows of {@code bench compare} are measured over, each the usual one for its kind of peer:
 * <ul>
 *   <li>the microVMs: a virtio-net card on a TAP device, {@link #TAP} ({@link #TAP_HOST} on the host's end, the
 *       guest {@link #TAP_GUEST} from the kernel's {@code ip=} parameter), as Firecracker and QEMU are usually
 *       networked;</li>
 *   <li>the containers: a veth pair into a network namespace, {@link #NAMESPACE} ({@link #VETH_HOST} on the host's
 *       end, {@link #VETH_INSIDE} inside), which every runtime joins (runc and crun by its path in the bundle,
 *       podman with {@code --network=ns:PATH}, bubblewrap started inside it), as a bridge network gives a
 *       container a veth;</li>
 *   <li>the host floor: its own address {@link #VETH_HOST}, which the kernel carries over loopback.</li>
 * </ul>
 * On the host's end of both links one busybox {@code httpd} each (the guest's busybox, the binary every peer runs)
 * serves a file of {@code mib} MiB, which the workload downloads (host to instance), and a CGI program that reads
 * and discards a POST body, to which the workload uploads as much (instance to host). Both are timed inside the
 * instance with busybox {@code time}, like the disk rows ({@link Workload}). Nothing is addressed outside these two
 * links: the servers listen only on the links' host addresses, which are in 198.18.0.0/15, the block RFC 2544 (and
 * RFC 6890's registry) sets aside for benchmarking, so they do not collide with a LAN's or a container bridge's.
 *
 * <p>Needs root (a TAP, a namespace) and iproute2's {@code ip}; without them the rows are not measured and the
 * report says why. Everything made is removed by {@link #close()}, or by the run's {@link ExitCleanup} hook when the
 * JVM is stopped first. Links an earlier run left behind are named with the commands that delete them, and the rows
 * are not measured then.
 */
final class NetworkLinks implements AutoCloseable {
    static final String TAP = "pvcmp-tap";
    static final String NAMESPACE = "pvcmp-net";
    static final String VETH = "pvcmp-veth";
    static final String TAP_HOST = "198.18.1.1";
    static final String TAP_GUEST = "198.18.1.2";
    static final String VETH_HOST = "198.18.2.1";
    static final String VETH_INSIDE = "198.18.2.2";
    static final int PORT = 8080;
    /** The guest's address, from the kernel (client::gateway:netmask::device:autoconf). */
    static final String KERNEL_IP = "ip=" + TAP_GUEST + "::" + TAP_HOST + ":255.255.255.0::eth0:off";
    /** The file the instances download, under the servers' root. */
    static final String FILE = "net.bin";
    /** The CGI program the instances upload to. */
    static final String SINK = "cgi-bin/sink";
    /** How long the servers get to end on SIGTERM before SIGKILL: short, a file server has nothing to save. */
    private static final Duration SERVER_GRACE = Duration.ofSeconds(1);

    /** iproute2's {@code ip}, as found on this host (a stand-in in tests). */
    private final String ip;
    private final String unavailable;
    private final ExitCleanup cleanup;
    private final List<Process> servers = new ArrayList<>();
    private boolean tapMade;
    private boolean namespaceMade;

    private NetworkLinks(String ip, String unavailable, ExitCleanup cleanup) {
        this.ip = ip;
        this.unavailable = unavailable;
        this.cleanup = cleanup;
    }

    /** Links that were not made, and why ({@link #why()}); the run goes on without the network rows. */
    static NetworkLinks unavailable(String why) {
        return new NetworkLinks(null, why, null);
    }

    /**
     * Makes both links and starts their servers, or returns {@link #unavailable} links with the reason (one line
     * on {@code progress} either way). What is made is registered with {@code cleanup} until {@link #close()}.
     *
     * @param busybox the busybox that serves (the guest's)
     * @param dir     a private directory for the servers' files
     * @throws InterruptedException when this process is exiting (nothing is made then)
     */
    static NetworkLinks setUp(Path busybox, Path dir, int mib, PrintWriter progress, ExitCleanup cleanup)
            throws InterruptedException {
        java.util.Optional<Path> ip = HostCommand.find("ip");
        String missing = !Privileges.isRoot() ? "they need root (a TAP device and a network namespace)"
                : ip.isEmpty() ? "they need iproute2's ip (Debian package iproute2)" : null;
        if (missing != null) {
            progress.println("network rows: not measured: " + missing);
            return unavailable(missing);
        }
        return setUp(ip.get().toString(), busybox, dir, mib, progress, cleanup);
    }

    /** As above, with {@code ip} as iproute2's program, once root and ip are known to be there. */
    static NetworkLinks setUp(String ip, Path busybox, Path dir, int mib, PrintWriter progress,
            ExitCleanup cleanup) throws InterruptedException {
        String why;
        try {
            List<String> leftovers = leftovers(ip);
            if (leftovers.isEmpty()) {
                Path root = serverRoot(busybox, dir, mib);
                NetworkLinks links = cleanup.make(() -> new NetworkLinks(ip, null, cleanup).make(busybox, root),
                        made -> made::close);
                progress.println("network: TAP " + TAP + " (" + TAP_HOST + "/24) for the VMs, a veth into namespace "
                        + NAMESPACE + " (" + VETH_HOST + "/24) for the containers; " + mib + " MiB each way");
                return links;
            }
            why = "the links of an earlier bench compare are still there (one that was killed, or one still "
                    + "running): if none is running, delete them with '" + String.join("; ", leftovers) + "'";
        } catch (IOException | HostException e) {
            why = e.getMessage();
        }
        progress.println("network rows: not measured: " + why);
        return unavailable(why);
    }

    /**
     * What an earlier run left of the links (one killed with SIGKILL, or one still running: the names are fixed),
     * as the commands that delete it. Named, never deleted here: a run still measuring over them would lose its
     * links part way. The veth goes with the namespace, so it is named only without one.
     */
    private static List<String> leftovers(String ip) {
        List<String> commands = new ArrayList<>();
        HostCommand.Result namespaces = HostCommand.of(ip, "netns", "list").capture();
        if (namespaces.stdout().lines().map(line -> line.strip().split("\\s+")[0]).anyMatch(NAMESPACE::equals)) {
            commands.add("ip netns del " + NAMESPACE);
        }
        for (String link : commands.isEmpty() ? List.of(TAP, VETH) : List.of(TAP)) {
            if (HostCommand.of(ip, "link", "show", "dev", link).capture().ok()) {
                commands.add("ip link del " + link);
            }
        }
        return commands;
    }

    /** Makes the links and starts the servers; on a failure, undoes what it made before it throws. */
    private synchronized NetworkLinks make(Path busybox, Path root) throws IOException {
        try {
            makeTap();
            makeNamespace();
            serve(busybox, root, TAP_HOST);
            serve(busybox, root, VETH_HOST);
            return this;
        } catch (IOException | HostException e) {
            close();
            throw e;
        }
    }

    /** The servers' root: the file to download and the CGI program that swallows an upload. */
    private static Path serverRoot(Path busybox, Path dir, int mib) throws IOException {
        Path root = Files.createDirectories(dir.resolve("www"));
        Path cgi = Files.createDirectories(root.resolve("cgi-bin"));
        try (var file = new java.io.RandomAccessFile(root.resolve(FILE).toFile(), "rw")) {
            file.setLength(mib * 1024L * 1024); // zeros, like the disk rows' dd
        }
        String shell = busybox.toAbsolutePath().toString();
        Path sink = root.resolve(SINK);
        Files.writeString(sink, "#!" + shell + " sh\n" + shell + " cat > /dev/null\n"
                + "printf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n");
        Files.setPosixFilePermissions(sink, PosixFilePermissions.fromString("rwxr-xr-x"));
        return root;
    }

    private void makeTap() {
        ip("tuntap", "add", TAP, "mode", "tap");
        tapMade = true;
        ip("addr", "add", TAP_HOST + "/24", "dev", TAP);
        ip("link", "set", TAP, "up");
    }

    private void makeNamespace() {
        ip("netns", "add", NAMESPACE);
        namespaceMade = true;
        String inside = VETH + "-in";
        ip("link", "add", VETH, "type", "veth", "peer", "name", inside, "netns", NAMESPACE);
        ip("addr", "add", VETH_HOST + "/24", "dev", VETH);
        ip("link", "set", VETH, "up");
        ip("-n", NAMESPACE, "addr", "add", VETH_INSIDE + "/24", "dev", inside);
        ip("-n", NAMESPACE, "link", "set", inside, "up");
        ip("-n", NAMESPACE, "link", "set", "lo", "up");
    }

    private void serve(Path busybox, Path root, String address) throws IOException {
        Process server = new ProcessBuilder(busybox.toAbsolutePath().toString(), "httpd", "-f", "-p",
                address + ":" + PORT, "-h", root.toAbsolutePath().toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        servers.add(server);
        try {
            if (server.waitFor(300, TimeUnit.MILLISECONDS)) {
                throw new IOException("busybox httpd on " + address + ":" + PORT + " ended at once (status "
                        + server.exitValue() + ")");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting busybox httpd", e);
        }
    }

    private void ip(String... arguments) {
        List<String> command = new ArrayList<>(List.of(ip));
        command.addAll(List.of(arguments));
        HostCommand.of(command).check();
    }

    /** Whether the links are up; otherwise {@link #why()} says why not. */
    boolean ready() {
        return unavailable == null;
    }

    String why() {
        return unavailable == null ? "" : unavailable;
    }

    /** The address and port a peer's workload reaches the host's server at. */
    static String serverFor(Peer peer) {
        return (peer.kind == Peer.Kind.VM ? TAP_HOST : VETH_HOST) + ":" + PORT;
    }

    /** The namespace's file, as {@code ip netns} keeps it, for the runtimes that join it by path. */
    static String namespacePath() {
        return "/run/netns/" + NAMESPACE;
    }

    /**
     * Stops the servers and removes the TAP and the namespace (the veth pair goes with it). Quiet and safe to call
     * twice or from {@link ExitCleanup}'s hook while the main thread calls it too: the second call waits for the
     * first and finds nothing left.
     */
    @Override
    public void close() {
        synchronized (this) {
            ProcessTree.stop(servers, SERVER_GRACE); // with the upload CGI programs they may be running
            servers.clear();
            if (tapMade) {
                tapMade = false;
                HostCommand.of(ip, "link", "del", TAP).capture();
            }
            if (namespaceMade) {
                namespaceMade = false;
                HostCommand.of(ip, "netns", "del", NAMESPACE).capture();
            }
        }
        if (cleanup != null) {
            cleanup.forget(this);
        }
    }
}
