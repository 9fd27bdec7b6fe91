package dev.panavisor.vmm;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Everything that describes one VM, as the user asked for it (the CLI's flags, already parsed).
 *
 * @param kernel      bzImage or ELF vmlinux
 * @param initrd      optional initramfs
 * @param disks       virtio-blk disks in order: the first is /dev/vda
 * @param extraCmdline appended to the kernel command line Panavisor builds
 * @param memoryBytes guest RAM
 * @param cpus        vCPUs
 * @param console     which device carries the guest console
 * @param exec        command mode: run this shell command in the guest, report its status, end the VM
 */
public record MachineConfig(Path kernel, Optional<Path> initrd, List<Disk> disks, String extraCmdline,
        long memoryBytes, int cpus, ConsoleKind console, Optional<String> exec) {

    public static final long DEFAULT_MEMORY = 256L << 20;
    public static final int MAX_CPUS = 32;

    /** A disk image and whether the guest may write it. */
    public record Disk(Path path, boolean readOnly) {
    }

    /** Where the guest's console goes. */
    public enum ConsoleKind {
        /** The 8250 UART on COM1: ttyS0. Works from the first kernel message. */
        SERIAL,
        /** The virtio console: hvc0. Fewer exits per byte; kernel messages appear once its driver is up. */
        VIRTIO
    }

    public MachineConfig {
        disks = List.copyOf(disks);
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new VmmException("--cpus must be between 1 and " + MAX_CPUS + ", got " + cpus);
        }
        if (memoryBytes <= 0 || memoryBytes % 4096 != 0) {
            throw new VmmException("memory size must be a positive multiple of 4 KiB, got " + memoryBytes);
        }
    }
}
