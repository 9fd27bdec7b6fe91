package dev.panavisor.cli;

import dev.panavisor.api.VmLauncher;
import dev.panavisor.api.VmSpec;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.sys.NativeCallException;
import dev.panavisor.sys.ProcessSignal;
import dev.panavisor.vmm.MachineConfig;
import dev.panavisor.vmm.VmmException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Starts the API's VM as a {@code panavisor run} process, with the configuration as run's own flags: the same path
 * as {@code run --config}, so the VM is built, checked, confined with seccomp and, on a host whose /dev/kvm cannot
 * boot Linux, routed through the nested lab exactly as a run from the command line. The child shares this
 * process's stdin, stdout and stderr: the guest console is on serve's terminal, as Firecracker's serial console is
 * on its own.
 *
 * <p>Keeping the VM in its own process also keeps the API server's threads out of the seccomp filter, which a
 * run installs once its VM is up ({@code vmm/Confinement}): the server accepts connections before, while and after
 * the VM runs, and its system calls (accept, epoll, ...) are none of the VM's.
 *
 * <p>With {@link #startStandby} (serve does it at once), that process is started before it is needed, as a
 * {@link Standby}: its JVM, its command model and its first use of KVM are done by the time InstanceStart comes,
 * which then only hands it its arguments (a warm start). Should the standby have died, InstanceStart starts a run
 * as before.
 */
final class ChildRunLauncher implements VmLauncher {
    /** How long SendCtrlAltDel waits for a VM process that is still starting to take SIGPWR. */
    private static final int HANDLER_WAIT_SECONDS = 5;

    private final CompletableFuture<Integer> ended = new CompletableFuture<>();
    private volatile Process process;
    private volatile Standby standby;
    /** serve is ending ({@link #stop()}): no VM process is started from now on, and one just started is stopped. */
    private volatile boolean stopping;

    /** Starts the warm VM process now; {@code notices} hears when it is ready or, later, when it could not be used. */
    void startStandby(java.util.function.Consumer<String> notices) {
        this.notices = notices;
        try {
            standby = Standby.start(JavaCommand.panavisor(dev.panavisor.lab.Lab.insideLab()), notices);
        } catch (VmmException e) {
            // Not fatal: InstanceStart then starts a run of its own, as before warm starts existed.
            notices.accept("warning: " + e.getMessage() + "; InstanceStart will start the VM's process itself");
        }
    }

    private java.util.function.Consumer<String> notices = line -> { };

    @Override
    public void start(VmSpec spec) {
        MachineConfig config = new MachineConfig(spec.kernel(), spec.initrd(), spec.disks(), spec.bootArgs(),
                spec.memoryBytes(), spec.cpus(), MachineConfig.ConsoleKind.SERIAL, java.util.Optional.empty());
        List<String> arguments = runArguments(spec);
        Standby warm = standby;
        // A missing kernel or a disk that does not open is the InstanceStart request's error (400), not a line
        // from a child that already left. Unless the standby holds this VM built: its build read and checked the
        // same files (in the lab, checking them again here cost half a second of the warm start).
        boolean checked = warm == null || !warm.holdsBuilt(arguments);
        if (checked) {
            // A host where guests cannot run at all is the request's error too, not a 204 and then a serve that ends.
            LinuxGuests where = LinuxGuests.locate();
            if (where.route() == LinuxGuests.Route.NONE) {
                throw new VmmException(where.nowhereReason());
            }
            // Not the disks' locks while a warm process exists: it holds them, or is taking them as it builds this VM
            // from the PUTs just before; a lock of another VM's is then the child run's one line, not this request's.
            MachineConfig.checkFiles(config, warm == null);
        }
        if (warm != null) {
            try {
                // The standby stays known until its process is this VM's: a stop() meanwhile (the hand-off may
                // wait for it to be ready) ends it rather than leaving it to start the VM with no serve around.
                process = warm.handOff(arguments);
                standby = null;
                process.onExit().thenAccept(p -> ended.complete(p.exitValue()));
                if (stopping) {
                    process.destroy();
                }
                return;
            } catch (IOException e) {
                standby = null;
                if (stopping) {
                    throw new VmmException("serve is ending: the VM is not started");
                }
                notices.accept("the warm VM process could not be used (" + e.getMessage() + "); starting one");
                warm.close();
                warm.awaitExit(); // and its disks' locks with it, which the run started next takes
                MachineConfig.checkFiles(config); // the locks too, this time: no other process of ours holds them
            }
        }
        List<String> command = new ArrayList<>(JavaCommand.panavisor(dev.panavisor.lab.Lab.insideLab()));
        command.addAll(arguments);
        synchronized (this) { // with stop(): a process is either started and seen by it, or not started at all
            if (stopping) {
                throw new VmmException("serve is ending: the VM is not started");
            }
            try {
                process = new ProcessBuilder(command).inheritIO().start();
            } catch (IOException e) {
                throw new VmmException("cannot start the VM process: " + e.getMessage(), e);
            }
        }
        process.onExit().thenAccept(p -> ended.complete(p.exitValue()));
    }

    /** The warm VM process builds this VM now; InstanceStart with the same configuration then only starts it. */
    @Override
    public void configured(VmSpec spec) {
        Standby warm = standby;
        if (warm != null) {
            warm.prepare(runArguments(spec));
        }
    }

    /** run's flags for {@code spec}: what a user would type for the same VM. */
    static List<String> runArguments(VmSpec spec) {
        List<String> args = new ArrayList<>();
        args.add("run");
        args.add("--kernel=" + spec.kernel().toAbsolutePath());
        spec.initrd().ifPresent(initrd -> args.add("--initrd=" + initrd.toAbsolutePath()));
        for (MachineConfig.Disk disk : spec.disks()) {
            // Always an explicit mode: --disk takes the text after the last comma as one, so a path with a comma
            // ("a,b.ext4", or a file named "data,ro") stays the path.
            args.add("--disk=" + disk.path().toAbsolutePath() + (disk.readOnly() ? ",ro" : ",rw"));
        }
        if (!spec.bootArgs().isBlank()) {
            args.add("--cmdline=" + spec.bootArgs());
        }
        args.add("--memory=" + (spec.memoryBytes() >> 20) + "M");
        args.add("--cpus=" + spec.cpus());
        spec.net().ifPresent(net -> args.add("--net=tap=" + net.tap() + ",mac=" + net.mac()));
        spec.vsock().ifPresent(vsock -> args.add("--vsock=" + vsock.cid() + "," + vsock.path().toAbsolutePath()));
        return args;
    }

    @Override
    public boolean running() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /**
     * As Firecracker does, presses Ctrl+Alt+Del on the guest's keyboard, and the guest decides what follows: SIGPWR
     * to the VM's process ({@link CtrlAltDelSignal}). A run that goes through the nested lab has its VM in another
     * kernel, which no signal from here reaches: that VM is stopped from the host instead (SIGTERM, on which run
     * stops the VM and flushes its disks), with one line that says so.
     */
    @Override
    public void ctrlAltDel() {
        Process p = process;
        if (p == null) {
            return;
        }
        if (LinuxGuests.locate().route() != LinuxGuests.Route.DIRECT) {
            notices.accept("SendCtrlAltDel: the VM runs in the nested lab, where no keyboard press reaches it from "
                    + "here; stopping it from the host instead");
            p.destroy();
            return;
        }
        // A process just started (InstanceStart a moment ago) may not have its handler yet, and SIGPWR's default
        // action would end it: wait for the handler, which run and standby install first thing.
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(HANDLER_WAIT_SECONDS);
        while (!ProcessSignal.catches(p.pid(), ProcessSignal.SIGPWR)) {
            if (!p.isAlive()) {
                return; // it ended meanwhile: nothing to press the keys on
            }
            if (System.nanoTime() - deadline > 0) {
                throw new dev.panavisor.api.ApiException("SendCtrlAltDel: the VM's process is still starting and "
                        + "cannot take it yet; try again");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new dev.panavisor.api.ApiException("SendCtrlAltDel: interrupted while the VM's process was "
                        + "still starting; the keys were not pressed");
            }
        }
        try {
            ProcessSignal.send(p.pid(), ProcessSignal.SIGPWR);
        } catch (NativeCallException e) {
            // The process ended meanwhile: nothing to press the keys on.
        }
    }

    /** Stops the VM process from the host: SIGTERM, on which run stops every vCPU and flushes the disks. */
    private void stopVm() {
        Process p = process;
        if (p != null) {
            p.destroy();
        }
    }

    /** Completes with the run's exit status when the VM process ends. */
    CompletableFuture<Integer> ended() {
        return ended;
    }

    /** Stops the VM process if it still runs, or the standby that never got a VM (serve is ending). */
    void stop() {
        synchronized (this) {
            stopping = true;
        }
        Standby warm = standby;
        if (warm != null) {
            warm.close();
            // Handed off or not: its process may be this VM's already, before start() has taken it as such.
            warm.process().destroy();
        }
        stopVm();
    }
}
