package dev.panavisor.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.vmm.MachineConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Firecracker's configuration file format, read into what {@code run} boots, without a VM. */
class ConfigFileTest {
    /** The shape of the file in Firecracker's getting-started guide: kernel, rootfs drive, 2 vCPUs, 1 GiB, a NIC. */
    static final String FIRECRACKER_SHAPE = """
            {
              "boot-source": {
                "kernel_image_path": "vmlinux-6.1",
                "boot_args": "console=ttyS0 reboot=k panic=1 pci=off",
                "initrd_path": null
              },
              "drives": [
                {
                  "drive_id": "scratch",
                  "partuuid": null,
                  "is_root_device": false,
                  "cache_type": "Unsafe",
                  "is_read_only": true,
                  "path_on_host": "scratch.img",
                  "io_engine": "Sync",
                  "rate_limiter": null,
                  "socket": null
                },
                {
                  "drive_id": "rootfs",
                  "is_root_device": true,
                  "is_read_only": false,
                  "path_on_host": "rootfs.ext4"
                }
              ],
              "machine-config": {
                "vcpu_count": 2,
                "mem_size_mib": 1024,
                "smt": false,
                "track_dirty_pages": false,
                "huge_pages": "None"
              },
              "cpu-config": null,
              "balloon": null,
              "network-interfaces": [],
              "vsock": null,
              "logger": null,
              "metrics": null,
              "mmds-config": null,
              "entropy": null
            }
            """;

    final List<String> warnings = new ArrayList<>();

    VmSpec parse(String json) {
        return ConfigFile.parse(json, warnings::add);
    }

    @Test
    void firecrackers_own_shape_maps_to_runs_options_without_a_warning() {
        VmSpec spec = parse(FIRECRACKER_SHAPE);
        assertEquals(List.of(), warnings);
        assertEquals(Path.of("vmlinux-6.1"), spec.kernel());
        assertEquals(Optional.empty(), spec.initrd());
        assertEquals("console=ttyS0 reboot=k panic=1 pci=off", spec.bootArgs());
        // The root drive is /dev/vda whatever its place in the file, as in Firecracker.
        assertEquals(List.of(new MachineConfig.Disk(Path.of("rootfs.ext4"), false),
                new MachineConfig.Disk(Path.of("scratch.img"), true)), spec.disks());
        assertEquals(2, spec.cpus());
        assertEquals(1024L << 20, spec.memoryBytes());
    }

    @Test
    void without_machine_config_the_defaults_of_run_apply() {
        VmSpec spec = parse("""
                {"boot-source": {"kernel_image_path": "k", "initrd_path": "initrd.cpio"}}""");
        assertEquals(1, spec.cpus());
        assertEquals(MachineConfig.DEFAULT_MEMORY, spec.memoryBytes());
        assertEquals(Optional.of(Path.of("initrd.cpio")), spec.initrd());
        assertEquals("", spec.bootArgs());
        assertEquals(List.of(), spec.disks());
    }

    @Test
    void each_field_panavisor_ignores_gets_one_warning_line() {
        parse("""
                {
                  "boot-source": {"kernel_image_path": "k", "colour": "blue"},
                  "drives": [{"drive_id": "root", "is_root_device": true, "is_read_only": false,
                              "path_on_host": "r.ext4", "partuuid": "0eaa91a0-01", "cache_type": "Writeback",
                              "io_engine": "Async", "rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}],
                  "machine-config": {"vcpu_count": 2, "mem_size_mib": 128, "smt": true, "track_dirty_pages": true,
                                     "cpu_template": "T2", "huge_pages": "2M"},
                  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0",
                                          "rx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}],
                  "vsock": {"guest_cid": 3, "uds_path": "v.sock", "vsock_id": "vsock0"},
                  "balloon": {"amount_mib": 0, "deflate_on_oom": false},
                  "something-new": 1
                }""");
        List<String> expected = List.of("boot-source.colour", "drives[0].partuuid", "drives[0].cache_type",
                "drives[0].io_engine", "drives[0].rate_limiter", "machine-config.smt",
                "machine-config.track_dirty_pages", "machine-config.cpu_template", "machine-config.huge_pages",
                "network-interfaces[0].rx_rate_limiter", "vsock.vsock_id", "balloon", "something-new");
        assertEquals(expected.size(), warnings.size(), warnings.toString());
        for (String field : expected) {
            assertEquals(1, warnings.stream().filter(w -> w.startsWith(field + " ")).count(), field + ": " + warnings);
        }
        warnings.forEach(w -> assertTrue(w.contains("ignored") && !w.contains("\n"), w));
    }

    @Test
    void each_invalid_value_is_one_error_naming_its_field() {
        String[][] cases = {
                {"{}", "boot-source: missing"},
                {"[]", "expected a JSON object"},
                {"", "expected a JSON object"},
                {"{\"boot-source\": {\"kernel_image_path\": \"k\"", "not valid JSON at line 1"},
                {"{\"boot-source\": {\"kernel_image_path\": \"k\"}} trailing", "not valid JSON"},
                {"{\"boot-source\": {}}", "boot-source.kernel_image_path: missing"},
                {"{\"boot-source\": {\"kernel_image_path\": 7}}", "boot-source.kernel_image_path: expected a string"},
                {"{\"boot-source\": {\"kernel_image_path\": \"\"}}", "boot-source.kernel_image_path: empty path"},
                {"{\"boot-source\": \"k\"}", "boot-source: expected a JSON object"},
                {"{\"boot-source\": {\"kernel_image_path\": \"k\", \"kernel_image_path\": \"j\"}}", "Duplicate field"},
                {withMachine("\"vcpu_count\": 0, \"mem_size_mib\": 128"), "machine-config.vcpu_count: must be between 1 and 32, got 0"},
                {withMachine("\"vcpu_count\": 33, \"mem_size_mib\": 128"), "machine-config.vcpu_count: must be between 1 and 32"},
                {withMachine("\"vcpu_count\": \"2\", \"mem_size_mib\": 128"), "machine-config.vcpu_count: expected an integer"},
                {withMachine("\"vcpu_count\": 1.5, \"mem_size_mib\": 128"), "machine-config.vcpu_count: expected an integer"},
                {withMachine("\"vcpu_count\": 1"), "machine-config.mem_size_mib: missing"},
                {withMachine("\"vcpu_count\": 1, \"mem_size_mib\": -1"), "machine-config.mem_size_mib: must be between 1 and"},
                {withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 99999999999999999999"), "machine-config.mem_size_mib: expected an integer"},
                {withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": \"yes\""), "machine-config.smt: expected true or false"},
                {withDrives("{}"), "drives[0].drive_id: missing"},
                {withDrives("{\"drive_id\": \"a b\", \"is_root_device\": true, \"path_on_host\": \"x\"}"), "drives[0].drive_id: 'a b' is not made of"},
                // The client's own control characters come back escaped: the message stays one line, and a terminal
                // that shows it runs no escape sequence of theirs.
                {withDrives("{\"drive_id\": \"a\\nb\\u001b[2J\", \"is_root_device\": true, \"path_on_host\": \"x\"}"),
                        "drives[0].drive_id: 'a\\nb\\u001b[2J' is not made of"},
                {withDrives("{\"drive_id\": \"a\", \"path_on_host\": \"x\"}"), "drives[0].is_root_device: missing"},
                {withDrives("{\"drive_id\": \"a\", \"is_root_device\": false}"), "drives[0].path_on_host: missing"},
                {withDrives("{\"drive_id\": \"a\", \"is_root_device\": false, \"socket\": \"/s\"}"), "drives[0].socket: vhost-user drives are not supported"},
                {withDrives("{\"drive_id\": \"a\", \"is_root_device\": true, \"path_on_host\": \"x\"},"
                        + "{\"drive_id\": \"b\", \"is_root_device\": true, \"path_on_host\": \"y\"}"),
                        "drives[1].is_root_device: drive 'a' is already the root device"},
                {"{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": {}}", "drives: expected an array"},
                {withNet("{\"iface_id\": \"eth0\"}"), "network-interfaces[0].host_dev_name: missing"},
                {withNet("{\"iface_id\": \"eth0\", \"host_dev_name\": \"a/b\"}"), "network-interfaces[0].host_dev_name: 'a/b' is not an interface name"},
                {withNet("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"01:00:00:00:00:01\"}"), "network-interfaces[0].guest_mac:"},
                {withNet("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}, {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}"),
                        "network-interfaces[1].iface_id: 'eth1': Panavisor has one network card, and 'eth0' is it"},
                {"{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"vsock\": {\"guest_cid\": 2, \"uds_path\": \"v\"}}", "vsock.guest_cid: must be between 3 and"},
                {"{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"vsock\": {\"guest_cid\": 3}}", "vsock.uds_path: missing"},
        };
        for (String[] c : cases) {
            ApiException e = assertThrows(ApiException.class, () -> parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
    }

    @Test
    void a_drive_given_again_under_its_id_replaces_the_first() {
        VmSpec spec = parse(withDrives("{\"drive_id\": \"a\", \"is_root_device\": true, \"path_on_host\": \"x\"},"
                + "{\"drive_id\": \"a\", \"is_root_device\": false, \"is_read_only\": true, \"path_on_host\": \"y\"}"));
        assertEquals(List.of(new MachineConfig.Disk(Path.of("y"), true)), spec.disks());
    }

    @Test
    void a_file_too_large_to_be_a_configuration_is_refused_unread(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("rootfs.ext4");
        java.nio.file.Files.write(image, new byte[1 << 20]);
        ApiException e = assertThrows(ApiException.class, () -> ConfigFile.read(image, warnings::add));
        assertEquals("config file " + image + " is larger than 51200 bytes: not a configuration", e.getMessage());
    }

    @Test
    void a_missing_file_is_one_line(@TempDir Path dir) throws Exception {
        ApiException e = assertThrows(ApiException.class, () -> ConfigFile.read(dir.resolve("nope.json"), warnings::add));
        assertEquals("config file " + dir.resolve("nope.json") + " does not exist", e.getMessage());
        Path bad = Files.writeString(dir.resolve("vm.json"), "{\"boot-source\": 1}");
        e = assertThrows(ApiException.class, () -> ConfigFile.read(bad, warnings::add));
        assertTrue(e.getMessage().startsWith(bad + ": boot-source: expected a JSON object"), e.getMessage());
    }

    static String withMachine(String fields) {
        return "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": {" + fields + "}}";
    }

    static String withNet(String interfaces) {
        return "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"network-interfaces\": [" + interfaces + "]}";
    }

    /** The network interface and vsock sections map to run's --net tap=NAME,mac=MAC and --vsock CID,PATH. */
    @Test
    void a_network_interface_and_vsock_become_a_tap_card_and_a_vsock_device() {
        VmSpec spec = parse("""
                {"boot-source": {"kernel_image_path": "k"},
                 "network-interfaces": [{"iface_id": "eth0", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "tap0"}],
                 "vsock": {"guest_cid": 3, "uds_path": "./v.sock"}}""");
        assertEquals(List.of(), warnings);
        assertEquals(Optional.of(new MachineConfig.Net("tap0",
                dev.panavisor.devices.virtio.net.MacAddress.parse("06:00:ac:10:00:02"))), spec.net());
        assertEquals(Optional.of(new MachineConfig.Vsock(3, Path.of("./v.sock"))), spec.vsock());
        VmSpec none = parse("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"network-interfaces\": [], "
                + "\"vsock\": null}");
        assertEquals(Optional.empty(), none.net());
        assertEquals(Optional.empty(), none.vsock());
    }

    static String withDrives(String drives) {
        return "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": [" + drives + "]}";
    }
}
