package dev.panavisor.compare;

import dev.panavisor.host.HostCommand;
import dev.panavisor.host.HostException;
import dev.panavisor.host.Privileges;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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
 * report says why. Everything made is removed by {@link #close()}.
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

    private final String unavailable;
    private final List<Process> servers = new ArrayList<>();
    private boolean tapMade;
    private boolean namespaceMade;

    private NetworkLinks(String unavailable) {
        this.unavailable = unavailable;
    }

    /** Links that were not made, and why ({@link #why()}); the run goes on without the network rows. */
    static NetworkLinks unavailable(String why) {
        return new NetworkLinks(why);
    }

    /**
     * Makes both links and starts their servers, or returns {@link #unavailable} links with the reason (one line
     * on {@code progress} either way).
     *
     * @param busybox the busybox that serves (the guest's)
     * @param dir     a private directory for the servers' files
     */
    static NetworkLinks setUp(Path busybox, Path dir, int mib, PrintWriter progress) throws InterruptedException {
        String missing = !Privileges.isRoot() ? "they need root (a TAP device and a network namespace)"
                : HostCommand.find("ip").isEmpty() ? "they need iproute2's ip (Debian package iproute2)" : null;
        if (missing != null) {
            progress.println("network rows: not measured: " + missing);
            return unavailable(missing);
        }
        NetworkLinks links = new NetworkLinks(null);
        try {
            Path root = serverRoot(busybox, dir, mib);
            links.makeTap();
            links.makeNamespace();
            links.serve(busybox, root, TAP_HOST);
            links.serve(busybox, root, VETH_HOST);
            progress.println("network: TAP " + TAP + " (" + TAP_HOST + "/24) for the VMs, a veth into namespace "
                    + NAMESPACE + " (" + VETH_HOST + "/24) for the containers; " + mib + " MiB each way");
            return links;
        } catch (IOException | HostException e) {
            links.close();
            progress.println("network rows: not measured: " + e.getMessage());
            return unavailable(e.getMessage());
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

    private static void ip(String... arguments) {
        List<String> command = new ArrayList<>(List.of("ip"));
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

    @Override
    public void close() {
        for (Process server : servers) {
            server.destroy();
        }
        servers.clear();
        if (tapMade) {
            HostCommand.of("ip", "link", "del", TAP).capture();
            tapMade = false;
        }
        if (namespaceMade) {
            HostCommand.of("ip", "netns", "del", NAMESPACE).capture(); // the veth pair goes with it
            namespaceMade = false;
        }
    }
}
