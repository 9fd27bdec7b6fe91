package dev.panavisor.cli;

import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import dev.panavisor.vmm.HostTerminal;
import dev.panavisor.vmm.MachineConfig;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@code panavisor run} again inside the nested lab, for hosts whose /dev/kvm cannot boot Linux. The outer
 * run has already resolved every file (the default guest images included: building them is host work) into
 * absolute paths, so the inner run finds exactly the same files through the lab's read-only view of the host;
 * the directories of writable disks are made writable inside.
 *
 * <p>This process's stdin goes to the inner run's stdin (the lab closes it at its end), and the inner run's
 * stdout and stderr come back separately, so {@code run} keeps its contract through the lab (README, "run").
 * When the guest owns a terminal (no --exec, or --tty), this terminal is raw meanwhile, as it would be for a run
 * on this host, and is restored on every way out; Ctrl-A x reaches the inner run, which ends the VM.
 */
final class InLab {
    private InLab() {
    }

    static int run(MachineConfig config, RunCommand options) {
        LabConfig lab = LabConfig.defaults();
        for (MachineConfig.Disk disk : config.disks()) {
            if (!disk.readOnly()) {
                lab = lab.withWritable(disk.path().toAbsolutePath().getParent());
            }
        }
        if (options.jfr != null) {
            lab = lab.withWritable(options.jfr.toAbsolutePath().getParent()); // the inner run writes the recording
        }
        if (config.vsock().isPresent()) {
            // The sockets live inside the lab (a UNIX socket is local to one kernel): programs there reach them.
            lab = lab.withWritable(config.vsock().get().path().toAbsolutePath().getParent());
        }
        PrintWriter err = options.spec.commandLine().getErr();
        AotCache.Recording aot = JavaCommand.cache(true).map(cache -> cache.optionsFor(true, err))
                .orElse(null);
        boolean guestTerminal = config.exec().isEmpty() || options.tty;
        try (HostTerminal terminal = guestTerminal ? HostTerminal.rawIfInteractive() : null) {
            return Lab.run(lab, command(config, options, aot),
                    new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out),
                    new FileOutputStream(FileDescriptor.err));
        } finally { // a LabOutputLostException goes on to ExitCodes: 141 for a broken pipe, as run directly
            if (aot != null && aot.finish()) {
                err.println("panavisor: AOT cache recorded: " + aot.cache().file());
                err.flush();
            }
        }
    }

    /** The inner command: this JVM and jar, and the resolved configuration as explicit options. */
    static List<String> command(MachineConfig config, RunCommand options) {
        return command(config, options, null);
    }

    static List<String> command(MachineConfig config, RunCommand options, AotCache.Recording aot) {
        List<String> command = new ArrayList<>(JavaCommand.of(true, aot == null ? List.of() : aot.options()));
        command.add("run");
        if (aot != null) {
            command.addAll(aot.runOptions());
        }
        command.add("--kernel=" + config.kernel().toAbsolutePath());
        config.initrd().ifPresent(initrd -> command.add("--initrd=" + initrd.toAbsolutePath()));
        for (MachineConfig.Disk disk : config.disks()) { // always a mode: a path with a comma stays the path
            command.add("--disk=" + disk.path().toAbsolutePath() + (disk.readOnly() ? ",ro" : ",rw"));
        }
        command.add("--memory=" + (config.memoryBytes() >> 10) + "K");
        command.add("--cpus=" + config.cpus());
        command.add("--console=" + config.console().name().toLowerCase(java.util.Locale.ROOT));
        if (!config.extraCmdline().isBlank()) {
            command.add("--cmdline=" + config.extraCmdline());
        }
        config.vsock().ifPresent(vsock -> command.add("--vsock=" + vsock.cid() + "," + vsock.path().toAbsolutePath()));
        config.exec().ifPresent(exec -> command.add("--exec=" + exec));
        // The TAP is L1's: the guest reaches L1's side of it, not this host's network (docs/network.md).
        // With --net user, passt runs in L1 too, and --publish forwards L1's ports.
        config.net().ifPresent(net -> {
            switch (net.backend()) {
                case MachineConfig.Tap(String name) -> command.add("--net=tap=" + name + ",mac=" + net.mac());
                case MachineConfig.UserNetwork user -> {
                    command.add("--net=user,mac=" + net.mac());
                    user.publish().forEach(forward -> command.add("--publish=" + forward));
                }
            }
        });
        if (options.tty) {
            command.add("--tty");
        }
        if (options.showConsole) {
            command.add("--show-console");
        }
        if (options.bootTime) {
            command.add("--boot-time");
        }
        if (options.exitStats) {
            command.add("--exit-stats");
        }
        if (options.stats) {
            command.add("--stats");
        }
        if (options.timeline) {
            command.add("--timeline"); // the inner run's timeline, counted from that process's start inside L1
        }
        if (options.verbose) {
            command.add("--verbose");
        }
        if (options.trace != null) {
            command.add("--trace=" + options.trace.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (options.jfr != null) {
            command.add("--jfr=" + options.jfr.toAbsolutePath());
        }
        if (options.noSeccomp && (aot == null || !aot.recording())) {
            command.add("--no-seccomp");
        }
        if (options.stallLimit != null) {
            command.add("--stall-limit=" + (options.stallLimit.isZero() ? "0" : options.stallLimit.toMillis() + "ms"));
        }
        return command;
    }

    /** A Panavisor JVM for inside the lab, with the lab's AOT cache when it is fresh. */
    static List<String> javaCommand() {
        return JavaCommand.panavisor(true);
    }
}
