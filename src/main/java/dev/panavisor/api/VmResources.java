package dev.panavisor.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panavisor.devices.virtio.net.MacAddress;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.vmm.MachineConfig;
import dev.panavisor.vmm.VmmException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The resources of Firecracker's API that Panavisor serves — the boot source, the drives, the machine
 * configuration, a network interface and vsock — as a configuration file or a series of PUT requests builds them up
 * (Firecracker's swagger definitions {@code BootSource}, {@code Drive}, {@code MachineConfiguration},
 * {@code NetworkInterface} and {@code Vsock}). Each setter checks its whole
 * body first and changes nothing when it fails, so a bad request leaves the previous state, as in Firecracker.
 *
 * <p>Fields Panavisor reads but does not act on (rate limiters, SMT, CPU templates, ...) are warnings, one line
 * each, through the sink given to the constructor; the caller decides where they go (stderr for {@code run
 * --config}, the server's log for {@code serve}). Thread-safe: the API server may call it from several threads.
 */
public final class VmResources {
    /** Firecracker accepts drive ids of letters, digits and underscores. */
    private static final Pattern DRIVE_ID = Pattern.compile("[A-Za-z0-9_]+");

    private final Consumer<String> warnings;
    private final boolean checkFilesNow;
    private BootSource bootSource;
    private final Map<String, Drive> drives = new LinkedHashMap<>();
    private int cpus = 1;
    private long memoryMib = MachineConfig.DEFAULT_MEMORY >> 20;
    /** The network interface's id and card: Panavisor has one virtio-net device. */
    private String netId;
    private MachineConfig.Net net;
    private MachineConfig.Vsock vsock;
    /** The API's own socket (absolute), which vsock's uds_path may not name: the run would replace it. */
    private Path apiSocket;

    private record BootSource(Path kernel, Optional<Path> initrd, String bootArgs) {
    }

    private record Drive(String id, Path path, boolean root, boolean readOnly) {
    }

    /**
     * @param warnings      receives one line per field Panavisor reads but does not act on
     * @param checkFilesNow whether each request's files must be there when it is taken: the API's PUTs, as
     *                      Firecracker opens them when it takes the request; a configuration file's are checked by
     *                      {@code run} with the rest of the VM's input, in the same way as its flags'
     */
    public VmResources(Consumer<String> warnings, boolean checkFilesNow) {
        this.warnings = warnings;
        this.checkFilesNow = checkFilesNow;
    }

    /** The API's socket, served by the same process: a vsock socket at that path would replace it. */
    synchronized void apiSocket(Path socket) {
        this.apiSocket = socket.toAbsolutePath().normalize();
    }

    /** {@code PUT /boot-source}, or the file's {@code "boot-source"}. */
    public synchronized void putBootSource(JsonNode body) {
        JsonFields fields = new JsonFields(body, "boot-source", warnings);
        String kernel = fields.path("kernel_image_path", true);
        String initrd = fields.path("initrd_path", false);
        String bootArgs = fields.string("boot_args", false);
        fields.warnAboutTheRest();
        requireFile(fields.qualified("kernel_image_path"), kernel, false);
        if (initrd != null) {
            requireFile(fields.qualified("initrd_path"), initrd, false);
        }
        bootSource = new BootSource(Path.of(kernel), Optional.ofNullable(initrd).map(Path::of),
                bootArgs == null ? "" : bootArgs);
    }

    /**
     * {@code PUT /drives/{id}} ({@code pathId} is the id in the URL, which must match the body's), or one element
     * of the file's {@code "drives"} ({@code pathId} null). A drive with a known id replaces it in place.
     */
    public synchronized void putDrive(String pathId, JsonNode body, String where) {
        JsonFields fields = new JsonFields(body, where, warnings);
        String id = fields.string("drive_id", true);
        if (!DRIVE_ID.matcher(id).matches()) {
            throw new ApiException(where + ".drive_id: '" + id + "' is not made of letters, digits and '_' only");
        }
        if (pathId != null && !pathId.equals(id)) {
            throw new ApiException(where + ".drive_id: '" + id + "' differs from the id in the path, '" + pathId
                    + "'");
        }
        if (fields.has("socket")) {
            throw new ApiException(where + ".socket: vhost-user drives are not supported; give path_on_host");
        }
        String path = fields.path("path_on_host", true);
        boolean root = fields.bool("is_root_device", true);
        Boolean readOnly = fields.bool("is_read_only", false);
        fields.ignoredString("partuuid", "", "Panavisor's root is the whole /dev/vda");
        fields.ignoredString("cache_type", "Unsafe", "Panavisor's virtio-blk always offers flush (an fdatasync)");
        fields.ignoredString("io_engine", "Sync", "Panavisor serves requests synchronously on the device's worker");
        fields.ignoredObject("rate_limiter", "Panavisor has no rate limiter");
        fields.warnAboutTheRest();
        requireFile(fields.qualified("path_on_host"), path, readOnly == null || !readOnly);
        if (root) {
            for (Drive other : drives.values()) {
                if (other.root() && !other.id().equals(id)) {
                    throw new ApiException(where + ".is_root_device: drive '" + other.id()
                            + "' is already the root device");
                }
            }
        }
        drives.put(id, new Drive(id, Path.of(path), root, readOnly != null && readOnly));
    }

    /**
     * {@code PUT /network-interfaces/{iface_id}} ({@code pathId} is the id in the URL), or one element of the file's
     * {@code "network-interfaces"} ({@code pathId} null): Firecracker's {@code NetworkInterface}, a TAP named
     * {@code host_dev_name} and the guest's MAC. Panavisor has one network card: a second interface id is refused,
     * the same id again replaces it.
     */
    public synchronized void putNetworkInterface(String pathId, JsonNode body, String where) {
        JsonFields fields = new JsonFields(body, where, warnings);
        String id = fields.string("iface_id", true);
        if (pathId != null && !pathId.equals(id)) {
            throw new ApiException(where + ".iface_id: '" + id + "' differs from the id in the path, '" + pathId
                    + "'");
        }
        String tap = fields.string("host_dev_name", true);
        if (!MachineConfig.Tap.isInterfaceName(tap)) {
            throw new ApiException(where + ".host_dev_name: '" + tap + "' is not an interface name (1 to 15 "
                    + "letters, digits, '_', '.', ':', '-')");
        }
        String macText = fields.string("guest_mac", false);
        MacAddress mac;
        try {
            mac = macText == null ? MacAddress.DEFAULT : MacAddress.parse(macText);
        } catch (IllegalArgumentException e) {
            throw new ApiException(where + ".guest_mac: " + e.getMessage());
        }
        fields.ignoredObject("rx_rate_limiter", "Panavisor has no rate limiter");
        fields.ignoredObject("tx_rate_limiter", "Panavisor has no rate limiter");
        fields.warnAboutTheRest();
        if (netId != null && !netId.equals(id)) {
            throw new ApiException(where + ".iface_id: '" + id + "': Panavisor has one network card, and '" + netId
                    + "' is it");
        }
        netId = id;
        net = new MachineConfig.Net(tap, mac);
    }

    /**
     * Whether the vsock device's sockets at {@code uds} would replace the API's: PATH itself is replaced by the run,
     * and PATH_P (P a port number) is where a guest connecting to host port P arrives. Compared by real directory
     * (resolving symbolic links such as Debian's /var/run), so another spelling of the same place is caught.
     */
    private boolean reachesApiSocket(Path uds) {
        Path own = realPlace(uds);
        Path api = realPlace(apiSocket);
        if (own.equals(api)) {
            return true;
        }
        String prefix = own.getFileName() + "_";
        String name = api.getFileName().toString();
        return java.util.Objects.equals(own.getParent(), api.getParent()) && name.startsWith(prefix)
                && name.length() > prefix.length()
                && name.substring(prefix.length()).chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /** {@code path} with its directory's symbolic links resolved, where the directory exists. */
    private static Path realPlace(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        Path parent = absolute.getParent();
        if (parent == null || absolute.getFileName() == null) {
            return absolute;
        }
        try {
            return parent.toRealPath().resolve(absolute.getFileName());
        } catch (java.io.IOException | SecurityException e) {
            return absolute;
        }
    }

    /** {@code PUT /vsock}, or the file's {@code "vsock"}: Firecracker's {@code Vsock}, guest_cid and uds_path. */
    public synchronized void putVsock(JsonNode body) {
        JsonFields fields = new JsonFields(body, "vsock", warnings);
        long cid = fields.integer("guest_cid", true, 3, 0xffff_fffeL);
        String path = fields.path("uds_path", true);
        fields.ignoredString("vsock_id", null, "Panavisor has one vsock device");
        fields.warnAboutTheRest();
        MachineConfig.Vsock given = new MachineConfig.Vsock(cid, Path.of(path));
        if (apiSocket != null && reachesApiSocket(given.path())) {
            throw new ApiException("vsock.uds_path: " + path + " would reach the API's own socket");
        }
        if (checkFilesNow) { // as Firecracker, which binds the socket at this PUT
            try {
                given.checkPath("vsock.uds_path");
            } catch (VmmException e) {
                throw new ApiException(e.getMessage());
            }
        }
        vsock = given;
    }

    /** {@code PUT /machine-config}, or the file's {@code "machine-config"}. */
    public synchronized void putMachineConfig(JsonNode body) {
        setMachineConfig(body, true);
    }

    /**
     * {@code PATCH /machine-config}: only the fields given change (Firecracker's partial update, before the start);
     * each is checked as for PUT, and a bad one changes nothing.
     */
    public synchronized void patchMachineConfig(JsonNode body) {
        setMachineConfig(body, false);
    }

    private void setMachineConfig(JsonNode body, boolean whole) {
        JsonFields fields = new JsonFields(body, "machine-config", warnings);
        Long given = fields.integer("vcpu_count", whole, 1, MachineConfig.MAX_CPUS);
        long vcpus = given == null ? cpus : given;
        given = fields.integer("mem_size_mib", whole, 1, GuestLayout.RAM_LIMIT >> 20);
        long mib = given == null ? memoryMib : given;
        fields.ignoredFlag("smt", "Panavisor gives each vCPU a core of its own");
        fields.ignoredFlag("track_dirty_pages", "Panavisor takes no snapshots");
        fields.ignoredString("cpu_template", "None", "Panavisor passes KVM's supported CPUID through");
        fields.ignoredString("huge_pages", "None", "guest memory is one anonymous mapping of 4 KiB pages");
        fields.warnAboutTheRest();
        cpus = (int) vcpus;
        memoryMib = mib;
    }

    /** {@code GET /machine-config}: the configuration as Firecracker reports it. */
    public synchronized ObjectNode machineConfigJson() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("vcpu_count", cpus);
        json.put("mem_size_mib", memoryMib);
        json.put("smt", false);
        json.put("track_dirty_pages", false);
        json.put("huge_pages", "None");
        return json;
    }

    /**
     * With {@link #checkFilesNow}: the file is there, a regular file, and opens for reading, and for writing when
     * the guest may write to it. Whether it is a kernel, or a disk no other VM holds, is InstanceStart's check,
     * which reads it ({@code MachineConfig.checkFiles}); no lock is taken here, as the warm VM may already hold one.
     */
    private void requireFile(String field, String file, boolean writable) {
        if (!checkFilesNow) {
            return;
        }
        Path path = Path.of(file);
        try {
            if (!Files.readAttributes(path, BasicFileAttributes.class).isRegularFile()) {
                throw new ApiException(field + ": " + file + " is not a regular file");
            }
            // Opened, not asked about: access(2) tells root that every file is writable; open(2) is what counts.
            try (FileChannel channel = writable
                    ? FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(path, StandardOpenOption.READ)) {
                channel.size();
            }
        } catch (NoSuchFileException e) {
            throw new ApiException(field + ": " + file + " does not exist");
        } catch (IOException e) {
            String reason = e instanceof AccessDeniedException ? "permission denied"
                    : e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason()
                    : e.getClass().getSimpleName();
            throw new ApiException(field + ": " + file + " cannot be opened" + (writable
                    ? " for writing (" + reason + "; set is_read_only to attach it read-only)" : " (" + reason + ")"));
        }
    }

    /**
     * What to boot, in {@code run}'s terms; the root drive first (it becomes /dev/vda), the others in the order
     * they were given. Throws {@link ApiException} when there is no boot source yet.
     */
    public synchronized VmSpec spec() {
        if (bootSource == null) {
            throw new ApiException("boot-source: not configured; a kernel_image_path is needed to start");
        }
        List<MachineConfig.Disk> disks = new ArrayList<>();
        drives.values().stream().filter(Drive::root).forEach(d -> disks.add(new MachineConfig.Disk(d.path(),
                d.readOnly())));
        drives.values().stream().filter(d -> !d.root()).forEach(d -> disks.add(new MachineConfig.Disk(d.path(),
                d.readOnly())));
        return new VmSpec(bootSource.kernel(), bootSource.initrd(), bootSource.bootArgs(), disks, memoryMib << 20,
                cpus, Optional.ofNullable(net), Optional.ofNullable(vsock));
    }
}
