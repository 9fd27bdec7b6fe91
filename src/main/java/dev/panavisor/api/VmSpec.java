package dev.panavisor.api;

import dev.panavisor.vmm.MachineConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a Firecracker configuration (file or API calls) asks for, in the terms of {@code panavisor run}'s own
 * options: {@code run --config} copies these into the options and then builds its {@link MachineConfig} exactly as
 * it does from flags, so both ways share one path.
 *
 * @param kernel      boot-source.kernel_image_path ({@code --kernel})
 * @param initrd      boot-source.initrd_path ({@code --initrd})
 * @param bootArgs    boot-source.boot_args, appended to the line Panavisor builds ({@code --cmdline})
 * @param disks       the drives, the root drive first ({@code --disk}, in order)
 * @param memoryBytes machine-config.mem_size_mib in bytes ({@code --memory})
 * @param cpus        machine-config.vcpu_count ({@code --cpus})
 * @param net         the network interface: host_dev_name and guest_mac ({@code --net tap=NAME,mac=MAC})
 * @param vsock       vsock's guest_cid and uds_path ({@code --vsock CID,PATH})
 */
public record VmSpec(Path kernel, Optional<Path> initrd, String bootArgs, List<MachineConfig.Disk> disks,
        long memoryBytes, int cpus, Optional<MachineConfig.Net> net, Optional<MachineConfig.Vsock> vsock) {
    public VmSpec {
        disks = List.copyOf(disks);
    }

    /** Without network interface or vsock. */
    public VmSpec(Path kernel, Optional<Path> initrd, String bootArgs, List<MachineConfig.Disk> disks,
            long memoryBytes, int cpus) {
        this(kernel, initrd, bootArgs, disks, memoryBytes, cpus, Optional.empty(), Optional.empty());
    }
}
