package dev.panavisor.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.vmm.MachineConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The API's routes, without HTTP or KVM: requests in, status and JSON out, a fake VM launcher. */
class ApiRoutesTest {
    /** Records what the API asked for instead of starting a VM. */
    static class FakeLauncher implements VmLauncher {
        final List<VmSpec> started = new ArrayList<>();
        final List<VmSpec> configured = new ArrayList<>();
        boolean running;
        int ctrlAltDels;
        RuntimeException refusal;

        @Override
        public void start(VmSpec spec) {
            if (refusal != null) {
                throw refusal;
            }
            started.add(spec);
            running = true;
        }

        @Override
        public void configured(VmSpec spec) {
            configured.add(spec);
        }

        @Override
        public boolean running() {
            return running;
        }

        @Override
        public void ctrlAltDel() {
            ctrlAltDels++;
            running = false;
        }
    }

    final FakeLauncher launcher = new FakeLauncher();
    final List<String> warnings = new ArrayList<>();
    final ApiRoutes routes = new ApiRoutes(launcher, warnings::add, "1.2.3");
    /** The files the requests name: the API refuses a PUT whose file is not there, as Firecracker does. */
    @org.junit.jupiter.api.io.TempDir
    static Path files;
    static String kernel;
    static String rootfs;

    @org.junit.jupiter.api.BeforeAll
    static void makeFiles() throws java.io.IOException {
        kernel = java.nio.file.Files.writeString(files.resolve("k"), "kernel").toString();
        rootfs = java.nio.file.Files.writeString(files.resolve("r.ext4"), "rootfs").toString();
    }

    ApiRoutes.Reply put(String path, String body) {
        return routes.handle("PUT", path, body);
    }

    static void assertFault(ApiRoutes.Reply reply, String fragment) {
        assertEquals(400, reply.status(), reply.toString());
        assertTrue(reply.json().startsWith("{\"fault_message\":\""), reply.json());
        assertTrue(reply.json().contains(fragment), reply.json());
    }

    /**
     * A vsock socket path whose PATH_P form is the API's socket (API on /run/x/vm_52, uds_path /run/x/vm): a guest
     * connecting to host port 52 would reach the API. Refused, as uds_path equal to the API's socket is.
     */
    @Test
    void a_vsock_path_that_would_lead_the_guest_to_the_api_is_refused() {
        routes.servedOn(java.nio.file.Path.of("/run/x/vm_52"));
        ApiRoutes.Reply reply = put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/run/x/vm\"}");
        assertEquals(400, reply.status(), reply.json());
        assertTrue(reply.json().contains("vsock.uds_path: /run/x/vm would reach the API's own socket"), reply.json());
    }

    /**
     * The same place spelled through a symbolic link (Debian's /var/run is one to /run) is the same socket; a name
     * that only begins like PATH_ (PATH_api.sock, not PATH_ and a port number) is another file, and allowed.
     */
    @Test
    void the_api_socket_is_recognised_through_a_symbolic_link_and_only_port_suffixes_count() throws Exception {
        java.nio.file.Path real = java.nio.file.Files.createDirectory(files.resolve("real"));
        java.nio.file.Path link = java.nio.file.Files.createSymbolicLink(files.resolve("link"), real);
        routes.servedOn(real.resolve("fc.sock"));
        assertFault(put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + link.resolve("fc.sock") + "\"}"),
                "would reach the API's own socket");
        routes.servedOn(real.resolve("fc_7"));
        assertFault(put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + link.resolve("fc") + "\"}"),
                "would reach the API's own socket");
        routes.servedOn(real.resolve("fc_api.sock"));
        assertEquals(204, put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + real.resolve("fc") + "\"}").status());
    }

    /** JSON can spell a lone UTF-16 surrogate (\\uD800), which no UTF-8 file name or command line can carry. */
    @Test
    void a_string_with_an_unpaired_surrogate_is_refused() {
        assertFault(put("/boot-source", "{\"kernel_image_path\": \"/k\\ud800\"}"),
                "boot-source.kernel_image_path: holds an unpaired UTF-16 surrogate");
        assertFault(put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\", \"boot_args\": \"a\\udc00\"}"),
                "boot-source.boot_args: holds an unpaired UTF-16 surrogate");
        assertTrue(launcher.configured.isEmpty(), "nothing was configured");
        // A pair is one character (U+1F600), and fine in a command line.
        assertEquals(204, put("/boot-source", "{\"kernel_image_path\": \"" + kernel
                + "\", \"boot_args\": \"x=\\ud83d\\ude00\"}").status());
    }

    @Test
    void a_vm_configured_piece_by_piece_starts_with_what_was_put() {
        assertEquals(new ApiRoutes.Reply(200, "{\"id\":\"anonymous-instance\",\"state\":\"Not started\","
                + "\"vmm_version\":\"1.2.3\",\"app_name\":\"Panavisor\"}"), routes.handle("GET", "/", ""));
        assertEquals(204, put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\", \"boot_args\": \"quiet\"}")
                .status());
        assertEquals(204, put("/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"" + rootfs + "\", "
                + "\"is_root_device\": true, \"is_read_only\": false}").status());
        assertEquals(204, put("/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 512}").status());
        assertEquals(new ApiRoutes.Reply(200, "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":false,"
                + "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}"),
                routes.handle("GET", "/machine-config", null));
        ApiRoutes.Reply start = put("/actions", "{\"action_type\": \"InstanceStart\"}");
        assertEquals(204, start.status());
        assertNull(start.json());
        assertEquals(List.of(new VmSpec(Path.of(kernel), java.util.Optional.empty(), "quiet",
                List.of(new MachineConfig.Disk(Path.of(rootfs), false)), 512L << 20, 2)), launcher.started);
        assertTrue(routes.handle("GET", "/", null).json().contains("\"state\":\"Running\""));
        assertEquals(204, put("/actions", "{\"action_type\": \"SendCtrlAltDel\"}").status());
        assertEquals(1, launcher.ctrlAltDels);
        assertEquals(List.of(), warnings);
    }

    @Test
    void each_change_to_a_startable_configuration_is_offered_to_the_launcher_to_build_ahead() {
        assertEquals(204, put("/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 512}").status());
        assertEquals(List.of(), launcher.configured, "without a boot source there is nothing to build");
        assertEquals(204, put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}").status());
        VmSpec first = new VmSpec(Path.of(kernel), java.util.Optional.empty(), "", List.of(), 512L << 20, 2);
        assertEquals(List.of(first), launcher.configured);
        assertEquals(204, put("/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"" + rootfs + "\", "
                + "\"is_root_device\": true, \"is_read_only\": true}").status());
        assertEquals(204, routes.handle("PATCH", "/machine-config", "{\"vcpu_count\": 1}").status());
        assertFault(put("/drives/bad", "{\"drive_id\": \"other\", \"path_on_host\": \"/x\"}"), "differs");
        VmSpec last = new VmSpec(Path.of(kernel), java.util.Optional.empty(), "",
                List.of(new MachineConfig.Disk(Path.of(rootfs), true)), 512L << 20, 1);
        assertEquals(3, launcher.configured.size(), "a refused request offers nothing: " + launcher.configured);
        assertEquals(last, launcher.configured.getLast());
        assertEquals(204, put("/actions", "{\"action_type\": \"InstanceStart\"}").status());
        assertEquals(List.of(last), launcher.started, "the start is of the configuration last offered");
        assertEquals(3, launcher.configured.size(), "a start offers nothing more");
    }

    @Test
    void resources_panavisor_lacks_are_taken_with_one_warning() {
        assertEquals(204, put("/logger", "{\"log_path\": \"fc.log\", \"level\": \"Debug\"}").status());
        assertEquals(204, put("/balloon", "{\"amount_mib\": 0, \"deflate_on_oom\": false}").status());
        assertEquals(List.of("PUT /logger ignored: Panavisor logs to stderr (run --verbose)",
                "PUT /balloon ignored: Panavisor has no balloon device"), warnings);
        warnings.clear();
        assertEquals(204, put("/pmem/p0", "{}").status(), "one item of an ignored resource");
        assertFault(put("/logger/a/b", "{}"), "invalid request method and/or path: PUT /logger/a/b");
        assertFault(put("/logger/", "{}"), "invalid request method and/or path");
        assertFault(routes.handle("PATCH", "/network-interfaces", "{}"), "invalid request method and/or path");
        assertEquals(List.of("PUT /pmem/p0 ignored: Panavisor has no pmem device"), warnings);
    }

    /**
     * Firecracker refuses the pre-boot resources after the start; Panavisor ignored them before it and cannot change
     * a device it lacks now, so it refuses them too (a 204 would say the running VM changed). A PATCH of a network
     * interface's rate limiters is Firecracker's post-boot request: still taken and ignored.
     */
    @Test
    void resources_panavisor_lacks_are_refused_after_the_start() {
        assertEquals(204, put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}").status());
        assertEquals(204, put("/actions", "{\"action_type\": \"InstanceStart\"}").status());
        warnings.clear();
        assertFault(put("/logger", "{\"log_path\": \"fc.log\"}"),
                "PUT /logger: refused after the start: Panavisor logs to stderr (run --verbose); before InstanceStart");
        assertFault(routes.handle("PATCH", "/balloon", "{\"amount_mib\": 64}"),
                "PATCH /balloon: refused after the start: Panavisor has no balloon device");
        assertFault(put("/mmds", "[]"), "expected a JSON object");
        assertEquals(204, routes.handle("PATCH", "/network-interfaces/net1", "{\"iface_id\": \"net1\"}").status());
        assertEquals(List.of("PATCH /network-interfaces/net1 ignored: Panavisor has no rate limiters, the only thing "
                + "PATCH changes"), warnings);
    }

    /**
     * InstanceStart may wait minutes for serve's warm process; the launcher runs outside the routes' lock, so GET /
     * answers meanwhile, and the configuration is closed from the moment the start begins.
     */
    @Test
    void requests_are_answered_while_instance_start_waits_for_the_launcher() throws Exception {
        java.util.concurrent.CountDownLatch inStart = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        FakeLauncher slow = new FakeLauncher() {
            @Override
            public void start(VmSpec spec) {
                inStart.countDown();
                try {
                    if (!release.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
                        throw new IllegalStateException("never released");
                    }
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                super.start(spec);
            }
        };
        ApiRoutes slowRoutes = new ApiRoutes(slow, warnings::add, "1.2.3");
        assertEquals(204, slowRoutes.handle("PUT", "/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}")
                .status());
        java.util.concurrent.CompletableFuture<ApiRoutes.Reply> start = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> slowRoutes.handle("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"));
        assertTrue(inStart.await(30, java.util.concurrent.TimeUnit.SECONDS), "the launcher was asked to start");
        assertTrue(slowRoutes.handle("GET", "/", null).json().contains("\"state\":\"Not started\""));
        assertFault(slowRoutes.handle("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128}"),
                "PUT /machine-config: the VM has begun to start; its configuration can no longer change");
        assertFault(slowRoutes.handle("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
                "InstanceStart: the VM has begun to start");
        assertFalse(start.isDone(), "the first InstanceStart still waits");
        release.countDown();
        assertEquals(204, start.get(30, java.util.concurrent.TimeUnit.SECONDS).status());
        assertEquals(1, slow.started.size());
        assertTrue(slowRoutes.handle("GET", "/", null).json().contains("\"state\":\"Running\""));
    }

    /** Names and values from the client reach serve's log with their control characters escaped: one line each. */
    @Test
    void a_client_cannot_forge_a_line_of_the_log() {
        assertEquals(204, put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\", "
                + "\"x\\npanavisor: forged\": 1, \"\\u001b[2J\": 2}").status());
        assertEquals(List.of("boot-source.x\\npanavisor: forged ignored: not a field Panavisor knows",
                "boot-source.\\u001b[2J ignored: not a field Panavisor knows"), warnings);
    }

    @Test
    void a_network_interface_and_vsock_reach_the_vm_and_a_bad_one_is_a_fault() {
        assertEquals(204, put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}").status());
        assertFault(put("/network-interfaces/net1", "{\"iface_id\": \"net2\", \"host_dev_name\": \"tap0\"}"),
                "differs from the id in the path");
        assertFault(put("/network-interfaces", "{\"iface_id\": \"net1\", \"host_dev_name\": \"tap0\"}"),
                "invalid request method and/or path: PUT /network-interfaces");
        assertEquals(204, routes.handle("PATCH", "/network-interfaces/net1", "{\"iface_id\": \"net1\"}").status(),
                "a PATCH (rate limiters) is taken and ignored");
        assertEquals(List.of("PATCH /network-interfaces/net1 ignored: Panavisor has no rate limiters, the only thing "
                + "PATCH changes"), warnings);
        warnings.clear();
        assertFault(put("/network-interfaces/", "{\"iface_id\": \"net1\", \"host_dev_name\": \"tap0\"}"),
                "the path must name the interface");
        assertEquals(204, put("/network-interfaces/net1", "{\"iface_id\": \"net1\", \"guest_mac\": "
                + "\"06:00:AC:10:00:02\", \"host_dev_name\": \"tap0\"}").status());
        assertFault(put("/network-interfaces/net2", "{\"iface_id\": \"net2\", \"host_dev_name\": \"tap1\"}"),
                "Panavisor has one network card");
        String socket = files.resolve("v.sock").toString();
        assertFault(put("/vsock", "{\"guest_cid\": 1, \"uds_path\": \"" + socket + "\"}"), "must be between 3 and");
        assertEquals(204, put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + socket + "\"}").status());
        assertEquals(204, put("/actions", "{\"action_type\": \"InstanceStart\"}").status());
        VmSpec spec = launcher.started.getFirst();
        assertEquals(java.util.Optional.of(new MachineConfig.Net("tap0",
                dev.panavisor.devices.virtio.net.MacAddress.parse("06:00:ac:10:00:02"))), spec.net());
        assertEquals(java.util.Optional.of(new MachineConfig.Vsock(3, Path.of(socket))), spec.vsock());
        assertEquals(List.of(), warnings);
    }

    @Test
    void each_bad_request_is_a_400_fault_and_changes_nothing() {
        assertFault(put("/actions", "{\"action_type\": \"InstanceStart\"}"), "boot-source: not configured");
        assertFault(put("/boot-source", "{\"kernel_image_path\": 1}"),
                "boot-source.kernel_image_path: expected a string");
        assertFault(put("/boot-source", "not json"), "not valid JSON");
        assertFault(put("/boot-source", ""), "the request needs a JSON body");
        assertFault(put("/machine-config", "{\"vcpu_count\": 64, \"mem_size_mib\": 128}"), "must be between 1 and 32");
        assertFault(put("/drives/a", "{\"drive_id\": \"b\", \"path_on_host\": \"x\", \"is_root_device\": false}"),
                "differs from the id in the path");
        assertFault(put("/drives/", "{}"), "the path must name the drive");
        assertFault(put("/actions", "{\"action_type\": \"Reboot\"}"), "unknown action 'Reboot'");
        assertFault(put("/actions", "{}"), "action.action_type: missing");
        assertFault(put("/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), "the VM is not running");
        assertFault(put("/actions", "{\"action_type\": \"FlushMetrics\"}"), "no metrics");
        assertFault(routes.handle("DELETE", "/boot-source", ""),
                "invalid request method and/or path: DELETE /boot-source");
        assertFault(routes.handle("GET", "/nothing-here", ""), "invalid request method and/or path");
        assertFault(put("/logger", "[1]"), "expected a JSON object");
        assertEquals("{\"vcpu_count\":1,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":false,"
                + "\"huge_pages\":\"None\"}", routes.handle("GET", "/machine-config", "").json(), "unchanged");

        assertEquals(204, put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}").status());
        launcher.refusal = new dev.panavisor.vmm.VmmException("kernel " + kernel + " is not a kernel");
        assertFault(put("/actions", "{\"action_type\": \"InstanceStart\"}"), "kernel " + kernel + " is not a kernel");
        launcher.refusal = null;
        assertEquals(204, put("/actions", "{\"action_type\": \"InstanceStart\"}").status());
        assertFault(put("/actions", "{\"action_type\": \"InstanceStart\"}"), "already been started");
        assertFault(put("/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}"), "the VM has started");
        assertFault(routes.handle("PATCH", "/machine-config", "{\"vcpu_count\": 2}"), "the VM has started");
    }

    /** Firecracker opens a request's files when it takes it; Panavisor checks they are there and may be used. */
    @Test
    void a_put_whose_file_is_not_there_is_a_fault_and_changes_nothing() {
        String missing = files.resolve("missing").toString();
        assertFault(put("/boot-source", "{\"kernel_image_path\": \"" + missing + "\"}"),
                "boot-source.kernel_image_path: " + missing + " does not exist");
        assertFault(put("/boot-source", "{\"kernel_image_path\": \"" + files + "\"}"), "is not a regular file");
        assertFault(put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\", \"initrd_path\": \"" + missing
                + "\"}"), "boot-source.initrd_path: " + missing + " does not exist");
        assertFault(put("/boot-source", "{\"kernel_image_path\": \"a\\u0000b\"}"), "cannot hold a NUL character");
        // Nor a command line: the standby's hand-off refuses one, and the PUT must fail before it changes anything.
        assertFault(put("/boot-source", "{\"kernel_image_path\": \"" + kernel + "\", \"boot_args\": \"a\\u0000b\"}"),
                "boot-source.boot_args: cannot hold a NUL character");
        assertTrue(launcher.configured.isEmpty(), "nothing was configured");
        assertFault(put("/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"" + missing + "\", "
                + "\"is_root_device\": true}"), "drive rootfs.path_on_host: " + missing + " does not exist");
        // Root ignores permission bits, so a file the kernel lets no one open for writing (as RunBadInputTest).
        String body = "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/sys/kernel/uevent_seqnum\", "
                + "\"is_root_device\": true";
        // Permission denied, or a read-only /sys in a container: either way, refused with the advice.
        ApiRoutes.Reply refused = put("/drives/rootfs", body + "}");
        assertFault(refused, "cannot be opened for writing (");
        assertFault(refused, "; set is_read_only to attach it read-only)");
        assertEquals(204, put("/drives/rootfs", body + ", \"is_read_only\": true}").status());
        // The vsock's socket is made at the start, so its path is checked for what can be known now (as Firecracker,
        // which binds it at this PUT): a directory that is there, and nothing but a stale socket in its place.
        assertFault(put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + missing + "/v.sock\"}"),
                "vsock.uds_path: the directory of " + missing + "/v.sock does not exist");
        assertFault(put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + kernel + "\"}"),
                "vsock.uds_path: " + kernel + " exists and is not a socket");
        assertFault(put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/" + "s".repeat(120) + "\"}"),
                "a UNIX socket path holds at most 107");
        assertFault(put("/actions", "{\"action_type\": \"InstanceStart\"}"), "boot-source: not configured");
        assertEquals(List.of(), launcher.configured, "no refused boot source reached the launcher");
    }

    /** Firecracker's PATCH /machine-config: before the start, only the fields given change; a bad one, none. */
    @Test
    void patch_machine_config_changes_only_the_fields_it_names() {
        assertEquals(204, put("/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 512}").status());
        assertEquals(204, routes.handle("PATCH", "/machine-config", "{\"mem_size_mib\": 1024}").status());
        assertEquals("{\"vcpu_count\":2,\"mem_size_mib\":1024,\"smt\":false,\"track_dirty_pages\":false,"
                + "\"huge_pages\":\"None\"}", routes.handle("GET", "/machine-config", null).json());
        assertEquals(204, routes.handle("PATCH", "/machine-config", "{\"vcpu_count\": 4}").status());
        assertFault(routes.handle("PATCH", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 0}"),
                "mem_size_mib");
        assertFault(routes.handle("PATCH", "/machine-config", "[]"), "expected a JSON object");
        assertEquals("{\"vcpu_count\":4,\"mem_size_mib\":1024,\"smt\":false,\"track_dirty_pages\":false,"
                + "\"huge_pages\":\"None\"}", routes.handle("GET", "/machine-config", null).json(),
                "the refused patches changed nothing");
        assertEquals(204, routes.handle("PATCH", "/machine-config", "{}").status(), "an empty patch is no change");
    }
}
