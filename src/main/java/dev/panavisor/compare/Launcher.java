package dev.panavisor.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The command line that starts one instance of a peer with one workload, and how to tell it is ready. Every
 * container runs the guest's busybox root file system; both VMs run the same kernel and initramfs with the same
 * guest memory, one vCPU and a quiet serial console (each console byte is a VM exit). The WORK workload also gets
 * a network link when {@link NetworkLinks} made them: the VMs a virtio-net card on the TAP, the containers the veth's
 * namespace, the host floor its own address.
 */
final class Launcher {
    /**
     * Files and settings shared by all instances.
     *
     * @param javaCommand the start of a command line that runs this Panavisor (JVM, options, jar)
     * @param work        a private writable directory: bundles, runtime state, QEMU's marker files
     * @param initrd      the VMs' initramfs (the guest's)
     * @param workInitrd  the same with io-load added at {@link #VM_LOAD_PROGRAM}, for the WORK workload only
     * @param scratch     the I/O test's directory (bind-mounted at /scratch in containers), with io-load in it
     * @param disk        the VMs' I/O test disk (/dev/vda inside)
     * @param network     the network rows' links (perhaps {@link NetworkLinks#ready() not made})
     */
    record Setup(List<String> javaCommand, Path kernel, Path initrd, Path workInitrd, Path rootfs, Path hostBin, Path work,
            Path scratch, Path disk, int guestMiB, int ioMiB, int randomSeconds, int cpuLoops, NetworkLinks network,
            int netMiB) {
    }

    /** Where the VMs' initramfs carries io-load (as {@code bench io}'s does). */
    static final String VM_LOAD_PROGRAM = "/bench/io-load";
    /** io-load's name in the scratch directory, where containers and the host floor run it from. */
    static final String LOAD_PROGRAM = "io-load";

    /** A command to start, its readiness signal (a text line or a marker file), and what cleans up after a kill. */
    record Launch(List<String> command, String readyText, Path readyFile, List<String> cleanup) {
    }

    private final Setup setup;
    private final Map<Workload.Kind, Path> bundles = new EnumMap<>(Workload.Kind.class);

    Launcher(Setup setup) {
        this.setup = setup;
    }

    Launch launch(Peer peer, Workload.Kind kind, String name, boolean trackJvmMemory) throws IOException {
        boolean vm = peer.kind == Peer.Kind.VM;
        String scratch = peer == Peer.HOST ? setup.scratch().toString() : OciBundle.SCRATCH;
        String target = vm ? "/dev/vda" : scratch + "/" + name;
        String load = vm ? VM_LOAD_PROGRAM : scratch + "/" + LOAD_PROGRAM;
        boolean net = kind == Workload.Kind.WORK && setup.network().ready();
        String shell = Workload.command(kind, vm, new Workload.Io(target, setup.ioMiB(), setup.randomSeconds(),
                setup.cpuLoops(), load, net ? NetworkLinks.serverFor(peer) : "", setup.netMiB(),
                vm ? "/tmp/net.bin" : scratch + "/net-" + name));
        List<String> processArgs = List.of("/bin/sh", "-c", shell);
        Path state = setup.work().resolve("s-" + peer.id);
        String namespace = net ? NetworkLinks.namespacePath() : null;
        return switch (peer) {
            case HOST -> kind == Workload.Kind.TRUE
                    ? new Launch(List.of(setup.hostBin().resolve("echo").toString(), Workload.READY), Workload.READY,
                            null, List.of()) // the floor: one fork/exec of the same busybox
                    : new Launch(List.of("env", "PATH=" + setup.hostBin(), "sh", "-c", shell), Workload.READY,
                    null, List.of());
            case PANAVISOR -> panavisor(kind, shell, trackJvmMemory, net);
            case QEMU -> qemu(kind, shell, name, net);
            case RUNC, CRUN -> new Launch(List.of(peer.programs.getFirst(), "--root", state.toString(), "run",
                    "--bundle", bundle(kind, processArgs, namespace).toString(), name), Workload.READY, null,
                    List.of(peer.programs.getFirst(), "--root", state.toString(), "delete", "-f", name));
            case BWRAP -> new Launch(concat(bwrap(net), processArgs), Workload.READY, null, List.of());
            case PODMAN -> new Launch(concat(concat(podman(state), List.of("run", "--rm",
                    net ? "--network=ns:" + namespace : "--network=none",
                    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--name", name,
                    "-v", setup.scratch() + ":" + OciBundle.SCRATCH, "--rootfs", setup.rootfs().toString())),
                    processArgs), Workload.READY, null, concat(podman(state), List.of("rm", "-f", name)));
        };
    }

    /**
     * bubblewrap in new namespaces, its network one new and empty, or with {@code net} (bubblewrap cannot join a
     * namespace) started inside the links' namespace by {@code ip netns exec} and sharing it.
     */
    private List<String> bwrap(boolean net) {
        List<String> command = new ArrayList<>(net ? List.of("ip", "netns", "exec", NetworkLinks.NAMESPACE)
                : List.of());
        command.addAll(List.of("bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts"));
        if (!net) {
            command.add("--unshare-net");
        }
        command.addAll(List.of("--unshare-cgroup-try", "--die-with-parent",
                "--ro-bind", setup.rootfs().toString(), "/", "--proc", "/proc", "--dev", "/dev",
                "--tmpfs", "/tmp", "--bind", setup.scratch().toString(), OciBundle.SCRATCH,
                "--setenv", "PATH", "/sbin:/bin:/usr/sbin:/usr/bin", "--"));
        return command;
    }

    /**
     * podman with its storage, run state and network configuration in private directories (the lab's root file
     * system is read-only) and
     * the plainest set-up that works everywhere: vfs storage, cgroupfs, no events journal.
     */
    private static List<String> podman(Path state) {
        return List.of("podman", "--root", state.resolve("st").toString(), "--runroot",
                state.resolve("rr").toString(), "--tmpdir", state.resolve("tmp").toString(), "--network-config-dir",
                state.resolve("net").toString(), "--storage-driver",
                "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none", "--runtime", "runc");
    }

    private Launch panavisor(Workload.Kind kind, String shell, boolean trackJvmMemory, boolean net) {
        List<String> command = new ArrayList<>(setup.javaCommand());
        if (trackJvmMemory) {
            command.add(1, "-XX:NativeMemoryTracking=summary");
        }
        command.addAll(List.of("run", "--kernel=" + setup.kernel(), "--initrd=" + initrd(kind),
                "--memory=" + setup.guestMiB() + "M", "--cpus=1", "--exec=" + shell, "--boot-time", "--show-console")); // the banner says "ready"
        if (kind == Workload.Kind.WORK) {
            command.add("--disk=" + setup.disk());
        }
        if (net) {
            command.addAll(List.of("--net=tap=" + NetworkLinks.TAP, "--cmdline=" + NetworkLinks.KERNEL_IP));
        }
        return new Launch(command, Workload.GUEST_BANNER, null, List.of());
    }

    /**
     * QEMU's microvm as {@code bench boot} runs it, plus a debug console ({@code isa-debugcon}) on the boot
     * marker's port writing to a file: the file's first byte is the marker, the moment the init started.
     */
    private Launch qemu(Workload.Kind kind, String shell, String name, boolean net) {
        Path marker = setup.work().resolve(name + ".marker");
        String exec = Base64.getEncoder().encodeToString(shell.getBytes(StandardCharsets.UTF_8));
        List<String> command = new ArrayList<>(List.of("qemu-system-x86_64", "-M", "microvm,acpi=off",
                "-accel", "kvm", "-cpu", "max", "-m", Integer.toString(setup.guestMiB()), "-smp", "1",
                "-nographic", "-no-reboot", "-no-user-config", "-kernel", setup.kernel().toString(),
                "-initrd", initrd(kind).toString(),
                "-append", "console=ttyS0 reboot=t panic=-1 quiet " + (net ? NetworkLinks.KERNEL_IP + " " : "")
                        + "panavisor.exec=" + exec,
                "-chardev", "file,id=marker,path=" + marker, "-device", "isa-debugcon,iobase=0x440,chardev=marker"));
        if (kind == Workload.Kind.WORK) {
            command.addAll(List.of("-drive", "if=none,id=d0,file=" + setup.disk() + ",format=raw,cache=writeback",
                    "-device", "virtio-blk-device,drive=d0"));
        }
        if (net) { // QEMU's defaults for a TAP: vnet_hdr, so its card offers the offloads Panavisor's does
            command.addAll(List.of("-netdev", "tap,id=n0,ifname=" + NetworkLinks.TAP + ",script=no,downscript=no",
                    "-device", "virtio-net-device,netdev=n0"));
        }
        return new Launch(command, null, marker, List.of());
    }

    private Path initrd(Workload.Kind kind) {
        return kind == Workload.Kind.WORK ? setup.workInitrd() : setup.initrd();
    }

    /**
     * One OCI bundle per workload kind, shared by every runc and crun instance of it (the root is read-only);
     * {@code network} as for {@link OciBundle#write}.
     */
    private Path bundle(Workload.Kind kind, List<String> args, String network) throws IOException {
        Path bundle = bundles.get(kind);
        if (bundle == null) {
            bundle = setup.work().resolve("bundle-" + kind.name().toLowerCase(java.util.Locale.ROOT));
            OciBundle.write(bundle, setup.rootfs(), setup.scratch(), args, network);
            bundles.put(kind, bundle);
        }
        return bundle;
    }

    /** Makes {@code dir} a PATH of links to the guest's busybox, so the host floor runs the same binaries. */
    static Path hostBin(Path rootfs, Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String applet : Workload.HOST_APPLETS) {
            Path link = dir.resolve(applet);
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, RootfsDirectory.busybox(rootfs).toAbsolutePath());
        }
        return dir;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
