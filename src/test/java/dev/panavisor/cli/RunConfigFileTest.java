package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.vmm.MachineConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code run --config FILE}: a Firecracker configuration fills run's own options, then run goes on as from flags. */
class RunConfigFileTest {
    @TempDir
    Path dir;

    Path config(String json) throws Exception {
        return Files.writeString(dir.resolve("vm.json"), json);
    }

    @Test
    void the_file_fills_the_fields_the_flags_would() throws Exception {
        Path file = config("""
                {"boot-source": {"kernel_image_path": "/k/vmlinux", "boot_args": "console=ttyS0 quiet"},
                 "drives": [{"drive_id": "data", "is_root_device": false, "is_read_only": true, "path_on_host": "/d"},
                            {"drive_id": "rootfs", "is_root_device": true, "is_read_only": false,
                             "path_on_host": "/r.ext4"}],
                 "machine-config": {"vcpu_count": 2, "mem_size_mib": 512}}""");
        RunCommand run = RunOptionsTest.parsed("run", "--config", file.toString(), "--exec", "true");
        StringWriter err = new StringWriter();
        run.applyConfigFile(new PrintWriter(err, true));
        assertEquals("", err.toString());
        assertEquals(Path.of("/k/vmlinux"), run.kernel);
        assertEquals(null, run.initrd);
        assertEquals(List.of(new MachineConfig.Disk(Path.of("/r.ext4"), false),
                new MachineConfig.Disk(Path.of("/d"), true)), run.disks);
        assertEquals("console=ttyS0 quiet", run.cmdline);
        assertEquals(512L << 20, run.memory);
        assertEquals(2, run.cpus);
        assertEquals("true", run.exec, "the other options stay as given");
    }

    @Test
    void an_option_the_file_also_sets_is_refused() throws Exception {
        Path file = config("{\"boot-source\": {\"kernel_image_path\": \"k\"}}");
        for (String option : RunCommand.CONFIG_FILE_OPTIONS) {
            String value = option.equals("--memory") ? "128M" : option.equals("--cpus") ? "1" : "x";
            RunBadInputTest.Result result = RunBadInputTest.run("run", "--config", file.toString(), option, value,
                    "--exec", "true");
            RunBadInputTest.assertUsageError(result, option + " and --config both describe the VM");
        }
    }

    @Test
    void an_invalid_file_is_one_line_and_status_1() throws Exception {
        Path file = config("{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": "
                + "{\"vcpu_count\": 0, \"mem_size_mib\": 128}}");
        RunBadInputTest.assertOneLineError(RunBadInputTest.run("run", "--config", file.toString()),
                file + ": machine-config.vcpu_count: must be between 1 and 32, got 0");
        RunBadInputTest.assertOneLineError(RunBadInputTest.run("run", "--config", dir.resolve("none.json")
                .toString()), "config file " + dir.resolve("none.json") + " does not exist");
        Path binary = java.nio.file.Files.write(dir.resolve("random.json"), new byte[] {'{', (byte) 0xff, (byte) 0xfe});
        RunBadInputTest.assertOneLineError(RunBadInputTest.run("run", "--config", binary.toString()),
                "config file " + binary + " is not JSON text (not valid UTF-8)");
    }

    @Test
    void warnings_come_first_then_runs_own_checks_of_the_files() throws Exception {
        Path notKernel = Files.writeString(dir.resolve("vmlinux"), "not a kernel\n".repeat(100));
        Path file = config("""
                {"boot-source": {"kernel_image_path": "%s"},
                 "machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "smt": true},
                 "balloon": {"amount_mib": 0, "deflate_on_oom": false}}""".formatted(notKernel));
        RunBadInputTest.Result result = RunBadInputTest.run("run", "--config", file.toString(), "--exec", "true");
        assertEquals(1, result.code(), result.err());
        List<String> lines = result.err().lines().toList();
        assertEquals(3, lines.size(), result.err());
        assertEquals("panavisor: warning: " + file + ": machine-config.smt (true) ignored: Panavisor gives each "
                + "vCPU a core of its own", lines.get(0));
        assertTrue(lines.get(1).startsWith("panavisor: warning: " + file + ": balloon ignored"), lines.get(1));
        assertTrue(lines.get(2).contains("not a Linux kernel"), lines.get(2));
        assertFalse(result.err().contains("Exception"), result.err());
    }

    @Test
    void a_network_interface_in_the_file_and_net_on_the_command_line_is_one_line() throws Exception {
        Path file = config("""
                {"boot-source": {"kernel_image_path": "k"},
                 "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}]}""");
        RunBadInputTest.assertUsageError(RunBadInputTest.run("run", "--config", file.toString(), "--net",
                "tap=tap1"), "--net and the config file's network-interfaces both give the VM a network card");
    }
}
