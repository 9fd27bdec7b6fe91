package dev.panavisor.cli;

import dev.panavisor.vmm.MachineConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The model of {@code panavisor run}, built with picocli's programmatic API instead of from annotations (the root
 * command's is too, in {@link PanavisorCommand}).
 *
 * <p>Why not annotations, as every other command has: reading an annotation at run time makes the JVM generate a
 * proxy class for its type ({@code Command}, {@code Option}, {@code Spec}, ...), and reading fields by reflection
 * spins method-handle classes. Neither can be stored in JDK 25's AOT cache, so each {@code run} generated them again:
 * about 700 ms of the nested lab's emulated CPU between "JVM up" and "command parsed", on the one command a boot's
 * time depends on (docs/performance.md, "picocli and the FFM linker"). Built this way, the model is plain objects
 * and the options write straight into {@link RunCommand}'s fields. The help text and parsing are picocli's, as
 * before; {@code RunOptionsTest} checks both.
 */
final class RunCommandSpec {
    /**
     * A file option's value as a {@link Path}. picocli's own conversion to {@code Path} calls {@code Paths.get}
     * through reflection (it is built for Java 5), and a JVM's first reflective call generates the classes of its
     * accessor: 3 classes on the main thread of every boot, some 90 ms on the lab's emulated CPU
     * (docs/performance.md, "Lambda forms in the runtime's archive").
     */
    private static final ITypeConverter<Path> PATH = value -> Path.of(value);

    private RunCommandSpec() {
    }

    /** {@code run}'s model, each option bound to a field of {@code run}; also sets {@code run.spec}. */
    static CommandSpec run(RunCommand run) {
        CommandSpec spec = CommandSpec.wrapWithoutInspection(run).name("run")
                .versionProvider(new VersionProvider());
        spec.usageMessage().sortOptions(false)
                .description("Boot a Linux guest in a KVM microVM.",
                        "Without --kernel, the default guest (a minimal kernel and busybox initramfs) is used, "
                                + "built on first use.",
                        "The guest console is on this terminal; leave the guest shell with 'exit' or 'reboot'; "
                                + "Ctrl-A x ends the VM from the host; SIGPWR (kill -PWR) presses Ctrl+Alt+Del in "
                                + "the guest, whose init then ends the VM cleanly.",
                        "With --exec, stdout and stderr carry exactly the command's own, stdin reaches the "
                                + "command and ends with end-of-file; Panavisor's messages are on stderr.")
                .exitCodeListHeading("%nExit status:%n")
                .exitCodeList(exitCodes());
        value(spec, "--config", "FILE", Path.class, () -> run.configFile, v -> run.configFile = v,
                "A Firecracker configuration file (JSON: boot-source, drives, machine-config) in place of --kernel, "
                        + "--initrd, --disk, --cmdline, --memory and --cpus; fields Panavisor ignores get one warning "
                        + "line each (docs/api.md).");
        value(spec, "--kernel", "FILE", Path.class, () -> run.kernel, v -> run.kernel = v,
                "bzImage or ELF vmlinux (default: the default guest kernel).");
        value(spec, "--initrd", "FILE", Path.class, () -> run.initrd, v -> run.initrd = v,
                "initramfs (default: the default guest's, unless --disk is given).");
        spec.addOption(bound(OptionSpec.builder("--disk").paramLabel("FILE[,ro|,rw]").type(List.class)
                .auxiliaryTypes(MachineConfig.Disk.class).converters(new DiskConverter()), () -> run.disks,
                (List<MachineConfig.Disk> v) -> run.disks = v)
                .description("A virtio-blk disk; repeatable, the first is /dev/vda and, without --initrd, the "
                        + "root. ',ro' makes it read-only.").build());
        spec.addOption(bound(OptionSpec.builder("--net").paramLabel("tap=NAME|user[,mac=MAC]")
                .type(MachineConfig.Net.class).converters(new NetConverter()), () -> run.net,
                (MachineConfig.Net v) -> run.net = v)
                .description("A virtio-net card. tap=NAME: on the host's TAP interface NAME (an existing one, or "
                        + "created when run as root); the guest configures itself from --cmdline "
                        + "'ip=ADDR::GATEWAY:NETMASK::eth0:off'. user: through passt (Debian package passt), no "
                        + "root needed; the guest is 10.0.2.15/24, the host 10.0.2.2 (docs/network.md).",
                        "mac= sets the guest's MAC (default 02:70:76:00:00:01).").build());
        spec.addOption(bound(OptionSpec.builder("--publish").paramLabel("HOST:GUEST").type(List.class)
                .auxiliaryTypes(MachineConfig.PortForward.class).converters(new PublishConverter()),
                () -> run.publish, (List<MachineConfig.PortForward> v) -> run.publish = v)
                .description("With --net user: connections to the host's TCP port HOST reach the guest's port "
                        + "GUEST; repeatable.").build());
        spec.addOption(bound(OptionSpec.builder("--vsock").paramLabel("CID,PATH").type(MachineConfig.Vsock.class)
                .converters(new VsockConverter()), () -> run.vsock, (MachineConfig.Vsock v) -> run.vsock = v)
                .description("A virtio-vsock device: the guest's CID (3 or more) and a UNIX socket PATH on the "
                        + "host. The guest connecting to host port P reaches the socket PATH_P; a host program "
                        + "connecting to PATH and sending 'CONNECT P\\n' reaches the guest's port P after an 'OK "
                        + "<port>\\n' line (docs/network.md).").build());
        value(spec, "--cmdline", "TEXT", String.class, () -> run.cmdline, v -> run.cmdline = v,
                "Appended to the kernel command line Panavisor builds.");
        spec.addOption(bound(OptionSpec.builder("--memory").paramLabel("SIZE").type(long.class)
                .converters(RunCommandSpec::memorySize), () -> run.memory, (Long v) -> run.memory = v)
                .description("Guest memory: MiB, or with K/M/G (default: 256M).").build());
        spec.addOption(bound(OptionSpec.builder("--cpus").paramLabel("N").type(int.class)
                .converters(RunCommandSpec::cpuCount), () -> run.cpus, (Integer v) -> run.cpus = v)
                .description("vCPUs, 1 to " + MachineConfig.MAX_CPUS + " (default: 1).").build());
        value(spec, "--console", "serial|virtio", MachineConfig.ConsoleKind.class, () -> run.console,
                v -> run.console = v, "Console device: serial (8250, ttyS0; the default) or virtio (hvc0).");
        value(spec, "--exec", "COMMAND", String.class, () -> run.exec, v -> run.exec = v,
                "Run COMMAND in the guest (sh -c) with this process's stdin, stdout and stderr, byte for byte, and "
                        + "exit with its status.");
        flag(spec, new String[] {"-t", "--tty"}, () -> run.tty, v -> run.tty = v,
                "With --exec: give COMMAND the guest console's terminal as its stdin, stdout and stderr (like "
                        + "docker run -t); this terminal is in raw mode meanwhile, Ctrl-A x ends the VM. Needs a "
                        + "terminal on stdin.");
        flag(spec, new String[] {"--show-console"}, () -> run.showConsole, v -> run.showConsole = v,
                "With --exec (without -t): also copy the guest console (the kernel's messages, the init's banner) "
                        + "to stderr, which otherwise carries only the command's stderr and Panavisor's messages.");
        spec.addOption(bound(OptionSpec.builder("--stall-limit").paramLabel("DURATION").type(Duration.class)
                .converters(new RunCommand.StallLimitConverter()), () -> run.stallLimit,
                (Duration v) -> run.stallLimit = v)
                .description("End the VM (status 123) when no VM exit and no console output happen for this long, "
                        + "e.g. 90s or 5m; 0 turns it off.",
                        "Default: 2m inside the nested lab, where a guest can stall; off elsewhere. A guest that "
                                + "only computes or sleeps makes no exits either: give such a command a longer "
                                + "limit.").build());
        flag(spec, new String[] {"--boot-time"}, () -> run.bootTime, v -> run.bootTime = v,
                "Print the time from VMM start to the guest init's boot marker.");
        flag(spec, new String[] {"--exit-stats"}, () -> run.exitStats, v -> run.exitStats = v,
                "Print how many VM exits each port and MMIO page caused.");
        flag(spec, new String[] {"--stats"}, () -> run.stats, v -> run.stats = v,
                "After the run, print the VMM's own memory: its resident set apart from guest memory (as "
                        + "Firecracker measures it; its anonymous pages and its files' pages apart), the JVM's heap, "
                        + "metaspace and code cache, and, when the JVM runs "
                        + "with -XX:NativeMemoryTracking=summary, its native memory by area (docs/performance.md).");
        flag(spec, new String[] {"--timeline"}, () -> run.timeline, v -> run.timeline = v,
                "After the run, print when each boot phase ended, in ms from the process's start: JVM up, command "
                        + "parsed, images located, VM and memory created, kernel loaded, first KVM_RUN, the guest "
                        + "kernel's first console line and its 'Run /init as init process' line (with the guest's "
                        + "own clock), the init's boot marker, the command's exit status, VM ended, the vCPUs stopped, "
                        + "the VM closed (docs/boot.md).",
                "Adds printk.time=1 loglevel=7 to the kernel command line so those lines reach the console; "
                        + "printing them makes the boot slower (on the serial console each byte is a VM exit).");
        flag(spec, new String[] {"-v", "--verbose"}, () -> run.verbose, v -> run.verbose = v,
                "Say on stderr, one line each, what the VMM decides: where each device sits, the kernel command "
                        + "line, vCPUs starting and stopping, virtio devices activated and reset by the driver, "
                        + "DEVICE_NEEDS_RESET and why, block requests answered with an error, and the first port or "
                        + "MMIO access at each address no device claims (docs/boot.md, \"Watching a boot\").");
        value(spec, "--trace", "exits", RunCommand.TraceKind.class, () -> run.trace, v -> run.trace = v,
                "--trace exits: print every VM exit on stderr as it happens, decoded (out 0x3f8 = 0x48 'H' -> COM1 "
                        + "THR). For learning: every line slows the guest, so use it with a tiny guest or a short "
                        + "boot (docs/boot.md, \"Watching a boot\").");
        spec.addOption(bound(OptionSpec.builder("--jfr").paramLabel("FILE").type(Path.class).converters(PATH),
                () -> run.jfr, (Path v) -> run.jfr = v)
                .description("Record the run with JDK Flight Recorder into FILE (open it in JDK Mission Control or "
                        + "with 'jfr print'): an event per VM exit, per virtio-blk request and per boot phase, beside "
                        + "the JVM's own (docs/boot.md, \"Watching a boot\").",
                        "Implies --timeline's kernel parameters (its phases are events) and --no-seccomp (the "
                                + "recorder writes its files while the VM runs).").build());
        flag(spec, new String[] {"--no-seccomp"}, () -> run.noSeccomp, v -> run.noSeccomp = v,
                "Do not confine the VMM with its seccomp filter once the VM is set up (docs/security.md, "
                        + "\"Confinement\"): for debugging with strace or a profiler, or when a JDK or libc makes "
                        + "system calls the filter does not allow.");
        addStandardHelpOptions(spec);
        run.spec = spec;
        return spec;
    }

    private static Map<String, String> exitCodes() {
        // A LinkedHashMap keeps the order the help lists them in.
        var codes = new java.util.LinkedHashMap<String, String>();
        codes.put("0", "the guest rebooted or powered off (with --exec: the command's own status; 130 when "
                + "Ctrl+Alt+Del interrupted it)");
        codes.put("1", "Panavisor could not start or run the VM (the message says why)");
        codes.put("2", "bad command-line usage");
        codes.put(Integer.toString(RunCommand.GUEST_PANIC), "the guest kernel panicked");
        codes.put(Integer.toString(RunCommand.GUEST_CRASH), "the guest crashed (triple fault, failed VM entry, "
                + "emulation failure)");
        codes.put(Integer.toString(RunCommand.GUEST_STALLED), "the guest made no progress for --stall-limit (no VM "
                + "exit, no console output)");
        return codes;
    }

    /**
     * {@code -h, --help} and {@code -V, --version}, as picocli's {@code mixinStandardHelpOptions} gives them
     * (that mixin is itself an annotated class, which would bring the proxies back).
     */
    static void addStandardHelpOptions(CommandSpec spec) {
        spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
                .description("Show this help message and exit.").build());
        spec.addOption(OptionSpec.builder("-V", "--version").versionHelp(true)
                .description("Print version information and exit.").build());
    }

    /** {@code --memory}: a size (SizeConverter) of whole 4 KiB pages, more than none. */
    static long memorySize(String value) {
        long bytes = SizeConverter.parse(value);
        if (bytes == 0 || bytes % 4096 != 0) {
            throw new picocli.CommandLine.TypeConversionException("must be a positive multiple of 4 KiB, got '"
                    + value + "'");
        }
        return bytes;
    }

    /** {@code --cpus}: 1 to {@link MachineConfig#MAX_CPUS}. */
    static int cpuCount(String value) {
        int cpus;
        try {
            cpus = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a whole number");
        }
        if (cpus < 1 || cpus > MachineConfig.MAX_CPUS) {
            throw new picocli.CommandLine.TypeConversionException("must be between 1 and " + MachineConfig.MAX_CPUS
                    + ", got " + cpus);
        }
        return cpus;
    }

    private static <V> void value(CommandSpec spec, String name, String label, Class<?> type, Supplier<V> read,
            Consumer<V> write, String description) {
        OptionSpec.Builder option = OptionSpec.builder(name).paramLabel(label).type(type);
        if (type == Path.class) {
            option.converters(PATH);
        }
        spec.addOption(bound(option, read, write).description(description).build());
    }

    private static void flag(CommandSpec spec, String[] names, Supplier<Boolean> read, Consumer<Boolean> write,
            String... description) {
        spec.addOption(bound(OptionSpec.builder(names).type(boolean.class), read, write).description(description)
                .build());
    }

    private static <V> OptionSpec.Builder bound(OptionSpec.Builder option, Supplier<V> read, Consumer<V> write) {
        Field<V> field = new Field<>(read, write);
        // The field's value as the model is built is the option's default: picocli sets it back before each parse.
        return option.getter(field).setter(field).initialValue(read.get());
    }

    /**
     * An option's value kept in a field of the command: picocli reads the field's value (its default, or the list
     * a repeatable option adds to) through {@code read} and stores what it parsed through {@code write}.
     */
    private record Field<V>(Supplier<V> read, Consumer<V> write) implements IGetter, ISetter {
        @Override
        @SuppressWarnings("unchecked")
        public <T> T get() {
            return (T) read.get();
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T set(T value) {
            T old = (T) read.get();
            write.accept((V) value);
            return old;
        }
    }
}
