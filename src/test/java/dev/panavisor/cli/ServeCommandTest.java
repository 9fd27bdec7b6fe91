package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.api.VmSpec;
import dev.panavisor.vmm.MachineConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code panavisor serve}: its bad input, and the run it starts for InstanceStart, without starting one. */
class ServeCommandTest {
    @TempDir
    Path dir;

    @Test
    void a_socket_that_exists_is_one_line_and_status_1() throws Exception {
        Path taken = Files.writeString(dir.resolve("api.sock"), "");
        RunBadInputTest.assertOneLineError(RunBadInputTest.run("serve", "--api-sock", taken.toString()),
                "API socket " + taken + " already exists");
    }

    @Test
    void without_a_socket_it_is_a_usage_error() {
        RunBadInputTest.Result result = RunBadInputTest.run("serve");
        assertEquals(2, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), result.err());
        assertTrue(result.err().contains("--api-sock"), result.err());
    }

    @Test
    void instance_start_runs_panavisor_run_with_the_configuration_as_its_flags() {
        // Paths with commas, one of them ending like a mode ("data,ro" is read-write here): each keeps its path.
        VmSpec spec = new VmSpec(Path.of("/k/vmlinux"), Optional.of(Path.of("/i.cpio")), "console=ttyS0 quiet",
                List.of(new MachineConfig.Disk(Path.of("/r.ext4"), false), new MachineConfig.Disk(Path.of("/d"), true),
                        new MachineConfig.Disk(Path.of("/a,b.ext4"), true),
                        new MachineConfig.Disk(Path.of("/data,ro"), false)),
                512L << 20, 2);
        assertEquals(List.of("run", "--kernel=/k/vmlinux", "--initrd=/i.cpio", "--disk=/r.ext4,rw", "--disk=/d,ro",
                "--disk=/a,b.ext4,ro", "--disk=/data,ro,rw", "--cmdline=console=ttyS0 quiet", "--memory=512M",
                "--cpus=2"), ChildRunLauncher.runArguments(spec));
        // And those flags parse back into the same run options.
        RunCommand run = RunOptionsTest.parsed(ChildRunLauncher.runArguments(spec).toArray(String[]::new));
        assertEquals(spec.kernel(), run.kernel);
        assertEquals(spec.disks(), run.disks);
        assertEquals(spec.memoryBytes(), run.memory);
        assertEquals(spec.bootArgs(), run.cmdline);
    }

    @Test
    void a_network_interface_and_vsock_become_run_s_net_and_vsock_flags_that_parse_back() {
        MachineConfig.Net net = new MachineConfig.Net("tap0",
                dev.panavisor.devices.virtio.net.MacAddress.parse("06:00:ac:10:00:02"));
        MachineConfig.Vsock vsock = new MachineConfig.Vsock(3, Path.of("/tmp/v.sock"));
        VmSpec spec = new VmSpec(Path.of("/k"), Optional.empty(), "", List.of(), 256L << 20, 1, Optional.of(net),
                Optional.of(vsock));
        List<String> args = ChildRunLauncher.runArguments(spec);
        assertEquals(List.of("--net=tap=tap0,mac=06:00:ac:10:00:02", "--vsock=3,/tmp/v.sock"),
                args.subList(args.size() - 2, args.size()));
        RunCommand run = RunOptionsTest.parsed(args.toArray(String[]::new));
        assertEquals(net, run.net);
        assertEquals(vsock, run.vsock);
    }

    @Test
    void a_kernel_that_is_not_there_is_the_start_requests_error() {
        ChildRunLauncher launcher = new ChildRunLauncher();
        dev.panavisor.PanavisorException e = assertThrows(dev.panavisor.PanavisorException.class, () -> launcher.start(new VmSpec(dir.resolve("none"),
                Optional.empty(), "", List.of(), 128L << 20, 1)));
        assertTrue(e.getMessage().contains("none"), e.getMessage());
        assertEquals(false, launcher.running());
    }
}
