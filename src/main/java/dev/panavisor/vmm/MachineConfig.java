package dev.panavisor.vmm;

import dev.panavisor.boot.CommandLine;
import dev.panavisor.boot.E820Map;
import dev.panavisor.boot.InitrdLoader;
import dev.panavisor.boot.KernelImage;
import dev.panavisor.boot.LoadedKernel;
import dev.panavisor.devices.virtio.block.FileDiskBackend;
import dev.panavisor.devices.virtio.net.MacAddress;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.MappedGuestMemory;
import java.io.IOException;
import java.nio.file.Files;
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
 * @param stdio       in command mode, what the command's stdin, stdout and stderr are connected to
 * @param net         a virtio-net card (on a TAP interface or passt's user-mode network), if any
 * @param vsock       a virtio-vsock device and the UNIX socket its host side listens on, if any
 */
public record MachineConfig(Path kernel, Optional<Path> initrd, List<Disk> disks, String extraCmdline,
        long memoryBytes, int cpus, ConsoleKind console, Optional<String> exec, CommandStdio stdio,
        Optional<Net> net, Optional<Vsock> vsock) {

    public static final long DEFAULT_MEMORY = 256L << 20;
    public static final int MAX_CPUS = 32;

    /** A disk image and whether the guest may write it. */
    public record Disk(Path path, boolean readOnly) {
    }

    /**
     * A network card: what its host side is (a TAP interface, or passt's user-mode network) and the guest's MAC
     * address.
     */
    public record Net(Backend backend, MacAddress mac) {
        public Net {
            java.util.Objects.requireNonNull(backend, "backend");
            java.util.Objects.requireNonNull(mac, "mac");
        }

        /** A card on TAP interface {@code tap}. */
        public Net(String tap, MacAddress mac) {
            this(new Tap(tap), mac);
        }

        /** The TAP interface's name; null for the user-mode network. */
        public String tap() {
            return backend instanceof Tap(String name) ? name : null;
        }
    }

    /** The host side of a network card. */
    public sealed interface Backend permits Tap, UserNetwork {
    }

    /** {@code --net tap=NAME}: the host's TAP interface NAME. */
    public record Tap(String name) implements Backend {
        /** Linux's interface names: 1 to 15 bytes, no '/' or white space, not "." or "..". */
        public Tap {
            if (!isInterfaceName(name)) {
                throw new VmmException("'" + name + "' is not an interface name (1 to 15 letters, digits, '_', '.', "
                        + "':', '-')");
            }
        }

        public static boolean isInterfaceName(String name) {
            return name != null && name.length() <= 15 && name.matches("[A-Za-z0-9_.:-]+") && !name.equals(".")
                    && !name.equals("..");
        }
    }

    /**
     * {@code --net user}: a passt process (the user-mode network stack podman and libkrun use) on a UNIX socket,
     * with host TCP ports forwarded to the guest ({@code --publish}). No root needed (docs/network.md).
     */
    public record UserNetwork(List<PortForward> publish) implements Backend {
        public UserNetwork {
            publish = List.copyOf(publish);
        }
    }

    /** {@code --publish HOST:GUEST}: connections to the host's TCP port {@code host} reach the guest's {@code guest}. */
    public record PortForward(int host, int guest) {
        public PortForward {
            if (host < 1 || host > 65535 || guest < 1 || guest > 65535) {
                throw new VmmException("--publish " + host + ":" + guest + ": ports go from 1 to 65535");
            }
        }

        @Override
        public String toString() {
            return host + ":" + guest;
        }
    }

    /**
     * A virtio-vsock device (docs/network.md): the guest's CID (3 or more) and the host's UNIX socket {@code path};
     * guest connections to host port P go to {@code path_P}.
     */
    public record Vsock(long cid, Path path) {
        public Vsock {
            if (cid < 3 || cid > 0xffff_fffeL) {
                throw outOfRange(Long.toString(cid));
            }
            java.util.Objects.requireNonNull(path, "path");
        }

        /**
         * What can be checked of the host socket's path before the VM exists (its directory, its length, nothing
         * but a socket there), each error naming the setting as {@code name}.
         */
        public void checkPath(String name) {
            VsockSockets.check(path, name);
        }

        /** The error for a guest CID outside 3 to 4294967294, written as the user gave it. */
        public static VmmException outOfRange(String cid) {
            return new VmmException("--vsock: the guest CID must be between 3 and 4294967294 (0-2 are reserved), got "
                    + cid);
        }
    }

    /** Where the guest's console goes. */
    public enum ConsoleKind {
        /** The 8250 UART on COM1: ttyS0. Works from the first kernel message. */
        SERIAL,
        /** The virtio console: hvc0. Fewer exits per byte; kernel messages appear once its driver is up. */
        VIRTIO
    }

    /**
     * Where a command's standard streams go (guest-images/init reads it from {@code panavisor.stdio=}).
     * Without a command, the console is the guest's terminal whatever this says.
     */
    public enum CommandStdio {
        /** stdin from /dev/null, stdout and stderr on the console (for callers that read the console). */
        CONSOLE,
        /**
         * Three virtio-console ports ({@link CommandStreams}): stdin from the host, stdout and stderr to the host's
         * own, byte for byte, with no terminal in between; the console keeps only the init's and kernel's lines.
         */
        STREAMS,
        /** The command on the console's terminal, as its controlling tty: stdin, stdout and stderr (run -t). */
        TTY
    }

    /** A configuration whose command, if any, talks to the console ({@link CommandStdio#CONSOLE}). */
    public MachineConfig(Path kernel, Optional<Path> initrd, List<Disk> disks, String extraCmdline,
            long memoryBytes, int cpus, ConsoleKind console, Optional<String> exec) {
        this(kernel, initrd, disks, extraCmdline, memoryBytes, cpus, console, exec, CommandStdio.CONSOLE);
    }

    /** A configuration without a network card or a vsock device. */
    public MachineConfig(Path kernel, Optional<Path> initrd, List<Disk> disks, String extraCmdline,
            long memoryBytes, int cpus, ConsoleKind console, Optional<String> exec, CommandStdio stdio) {
        this(kernel, initrd, disks, extraCmdline, memoryBytes, cpus, console, exec, stdio, Optional.empty(),
                Optional.empty());
    }

    /** This configuration with the command's streams connected as {@code stdio} says. */
    public MachineConfig withStdio(CommandStdio stdio) {
        return new MachineConfig(kernel, initrd, disks, extraCmdline, memoryBytes, cpus, console, exec, stdio, net,
                vsock);
    }

    /** This configuration with network card {@code net} (or none). */
    public MachineConfig withNet(Optional<Net> net) {
        return new MachineConfig(kernel, initrd, disks, extraCmdline, memoryBytes, cpus, console, exec, stdio, net,
                vsock);
    }

    /** This configuration with a vsock device (or none). */
    public MachineConfig withVsock(Optional<Vsock> vsock) {
        return new MachineConfig(kernel, initrd, disks, extraCmdline, memoryBytes, cpus, console, exec, stdio, net,
                vsock);
    }

    /** Whether the VM has the command's stream ports: a command, with {@link CommandStdio#STREAMS}. */
    public boolean hasStreamPorts() {
        return exec.isPresent() && stdio == CommandStdio.STREAMS;
    }

    /**
     * Whether the run may end as soon as the guest's init reports the command's exit status, without waiting for
     * the init's {@code sync}, remount and reboot (60-80 ms in the nested lab): only when nothing the guest still
     * holds could matter once the status is known. No writable disk (nothing for the sync to write), no network
     * card or vsock device (a command's last packets may still sit in the guest's socket buffers), and the
     * command's output on its stream ports, not on the console, so a status-like line the command prints cannot end
     * it early by accident. What the command wrote before the status line is in the ports' queues, which the VMM
     * drains after the vCPUs stop ({@link CommandStreams#drain}). A command that writes such a line to /dev/console
     * on purpose can end its VM, as it could by rebooting.
     */
    public boolean endsAtExitStatus() {
        return hasStreamPorts() && disks.stream().allMatch(Disk::readOnly) && net.isEmpty() && vsock.isEmpty();
    }

    public MachineConfig {
        java.util.Objects.requireNonNull(stdio, "stdio");
        java.util.Objects.requireNonNull(net, "net");
        java.util.Objects.requireNonNull(vsock, "vsock");
        disks = List.copyOf(disks);
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new VmmException("--cpus must be between 1 and " + MAX_CPUS + ", got " + cpus);
        }
        if (memoryBytes <= 0 || memoryBytes % 4096 != 0) {
            throw new VmmException("memory size must be a positive multiple of 4 KiB, got " + memoryBytes);
        }
    }

    /**
     * Checks, without KVM, everything about the input that can be checked before a VM exists: the memory size can
     * boot, the kernel is a kernel that fits in that memory (loaded for real into a lazily committed mapping, so it
     * costs a few milliseconds), the initrd fits beside it, and every disk opens with the access asked for.
     * Running this first turns bad input into a one-line error before a (slow) nested-lab start.
     */
    public static void checkFiles(MachineConfig config) {
        checkFiles(config, true);
    }

    /**
     * As {@link #checkFiles(MachineConfig)}; without {@code lockDisks} the disks are opened without their locks: for
     * a check in serve while its warm VM process holds them, whose run then finds any other VM's lock itself.
     */
    public static void checkFiles(MachineConfig config, boolean lockDisks) {
        checkFiles(config, lockDisks, false);
    }

    /**
     * As {@link #checkFiles(MachineConfig, boolean)}, for a run whose command line will also carry the boot
     * timeline's words ({@code timelineWords}: run --timeline or --jfr), whose length the check must count too.
     */
    public static void checkFiles(MachineConfig config, boolean lockDisks, boolean timelineWords) {
        E820Map.requireBootable(config.memoryBytes());
        if (config.memoryBytes() > GuestLayout.RAM_LIMIT) {
            throw new VmmException(String.format("--memory %d MiB is more than the %d MiB below the MMIO hole",
                    config.memoryBytes() >> 20, GuestLayout.RAM_LIMIT >> 20));
        }
        try (KernelImage image = KernelImage.read(config.kernel());
                MappedGuestMemory scratch = MappedGuestMemory.allocate(config.memoryBytes())) {
            LoadedKernel kernel = image.load(scratch);
            requireLongModeEntry(kernel, config.kernel());
            // The line as Machine will build it (the device list only changes its length), against the kernel's limit.
            new CommandLine(KernelCommandLine.build(config, declaredDevices(config), timelineWords))
                    .writeTo(scratch, kernel);
            if (config.initrd().isPresent()) {
                Path initrd = config.initrd().get();
                requireFile(initrd, "initrd");
                try {
                    if (Files.size(initrd) == 0) {
                        throw new VmmException("initrd " + initrd + " is empty");
                    }
                    InitrdLoader.place(Files.size(initrd), config.memoryBytes(), kernel);
                } catch (IOException e) {
                    throw new VmmException("cannot read initrd " + initrd + ": " + e.getMessage(), e);
                }
            }
        }
        // All open at once, as the VM holds them: an image given twice meets its own lock here.
        List<FileDiskBackend> opened = new java.util.ArrayList<>();
        try {
            for (Disk disk : config.disks()) {
                opened.add(FileDiskBackend.open(disk.path(), disk.readOnly(), lockDisks));
            }
        } finally {
            opened.forEach(FileDiskBackend::close);
        }
        config.vsock().ifPresent(vsock -> VsockSockets.check(vsock.path()));
    }

    /** Where {@link Machine} puts the virtio-mmio devices this configuration asks for, in its order. */
    static List<KernelCommandLine.MmioDevice> declaredDevices(MachineConfig config) {
        int count = config.disks().size() + (config.console() == ConsoleKind.VIRTIO ? 1 : 0)
                + (config.hasStreamPorts() ? 1 : 0) + (config.net().isPresent() ? 1 : 0)
                + (config.vsock().isPresent() ? 1 : 0);
        List<KernelCommandLine.MmioDevice> devices = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            devices.add(new KernelCommandLine.MmioDevice(GuestLayout.VIRTIO_MMIO_BASE + i * GuestLayout.VIRTIO_MMIO_SIZE,
                    GuestLayout.VIRTIO_MMIO_SIZE, Machine.FIRST_VIRTIO_IRQ + i));
        }
        return devices;
    }

    /** Panavisor starts kernels at their 64-bit entry; a PVH-only (32-bit) entry is not started yet. */
    static void requireLongModeEntry(LoadedKernel kernel, Path path) {
        if (kernel.mode() != LoadedKernel.Mode.LONG_MODE_64) {
            throw new VmmException(path + ": this kernel only offers the " + kernel.mode() + " entry, which "
                    + "Panavisor does not start yet; use a bzImage or a vmlinux with a 64-bit entry");
        }
    }

    private static void requireFile(Path path, String what) {
        if (!Files.exists(path)) {
            throw new VmmException(what + " " + path + " does not exist");
        }
        if (!Files.isRegularFile(path)) {
            throw new VmmException(what + " " + path + " is not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new VmmException(what + " " + path + " is not readable");
        }
    }
}
