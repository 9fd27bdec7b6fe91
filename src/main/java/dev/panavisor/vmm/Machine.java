package dev.panavisor.vmm;

import dev.panavisor.boot.LoadedKernel;
import dev.panavisor.bus.Bus;
import dev.panavisor.devices.serial.Uart8250;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.console.VirtioConsole;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.devices.virtio.net.VirtioNet;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.Reg;
import dev.panavisor.kvm.Vcpu;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.kvm.Vm;
import dev.panavisor.measure.Smaps;
import dev.panavisor.memory.MappedGuestMemory;
import dev.panavisor.sys.NativeHeap;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * One Linux microVM, built in one place from a {@link MachineConfig}: the composition root. Reading
 * {@link #create} from top to bottom is reading the boot: KVM VM and platform, guest memory, devices on their
 * buses, kernel, initrd, command line, MP table and boot_params in memory, vCPUs set up. {@link #run} then starts
 * one worker thread per virtio device ({@link DeviceWorker}) and one thread per vCPU, each looping
 * {@code KVM_RUN} → {@link ExitHandler}, until the guest resets, panics or crashes.
 *
 * <p>Threads and locks: a vCPU thread only decodes its exit and calls the addressed device under that device's own
 * lock ({@code bus/Bus}); virtio requests are served by the device's worker, woken by an ioeventfd; interrupts are
 * irqfd writes, or KVM_IRQ_LINE from a vCPU thread ({@link KvmInterruptLine}). Stopping kicks every vCPU out of
 * KVM_RUN ({@link Vcpu#kick()}: immediate_exit plus a signal), and {@link #close()} joins every thread it started
 * before it unmaps guest memory.
 */
public final class Machine implements AutoCloseable {
    /** IRQ of the first virtio-mmio device; the next ones follow. 4 is COM1's. */
    static final int FIRST_VIRTIO_IRQ = 5;

    private final Vm vm;
    private final MappedGuestMemory memory;
    private final List<Vcpu> vcpus;
    private final ExitHandler exitHandler;
    private final Uart8250 uart;
    private final dev.panavisor.devices.legacy.I8042 i8042;
    private final VirtioConsole virtioConsole;
    /** The virtio console's transport, whose monitor guards the console device; null with the serial console. */
    private final VirtioMmioTransport virtioConsoleTransport;
    private final List<DeviceWorker> workers;
    /** The network card's host side and device, and the transport whose monitor guards it; null without one. */
    private final HostNetwork network;
    private final VirtioNet netDevice;
    private final VirtioMmioTransport netTransport;
    /** The vsock device's host sockets and their thread; null without --vsock. */
    private final VsockSockets vsockSockets;
    private final List<KvmInterruptLine> lines;
    private final List<VirtioBlock> blocks;
    private final ConsoleWatcher console;
    private final CommandStreams streams; // run --exec's, or null
    private final BootTimer bootTimer;
    private final String commandLine;
    private final LoadedKernel kernel;
    /** The writes KVM holds back (the 8250's transmit register), handed over before each exit; null without. */
    private final CoalescedWrites coalesced;
    /** Where the guest kernel's first allocations end: the initrd's start, else the end of RAM. */
    private final long earlyAllocationsEnd;
    private final BootTimeline timeline; // null unless the run reports its boot timeline (run --timeline)
    private final EventLog events; // the VMM's decisions (run --verbose)
    private final Runnable letGoOfHostWork; // passt's socket and the disks' transfers: MachineAssembly
    private final Runnable closeHostSides;
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    private final List<Thread> vcpuThreads = new ArrayList<>();
    /** Where each vCPU stood when a stall ended the VM ("vCPU 0 at rip 0x..."), read by its own thread. */
    private final Map<Integer, String> stallPlaces = new ConcurrentSkipListMap<>();
    private ConsoleFlusher consoleFlusher; // null until run()
    /** The status whose line ended the run ({@link #commandEnded}); null until then. */
    private volatile Integer statusAtEnd;
    /** Set by close(): no more input reaches the devices (their interrupt lines are gone). */
    private volatile boolean closed;

    private Machine(MachineAssembly b) {
        this.vm = b.vm;
        this.memory = b.memory;
        this.vcpus = b.vcpus;
        this.exitHandler = b.exitHandler;
        this.uart = b.uart;
        this.i8042 = b.i8042;
        this.virtioConsole = b.virtioConsole;
        this.virtioConsoleTransport = b.virtioConsoleTransport;
        this.workers = b.workers;
        this.network = b.network;
        this.netDevice = b.netDevice;
        this.netTransport = b.netTransport;
        this.vsockSockets = b.vsockSockets;
        this.lines = b.lines;
        this.blocks = b.blocks;
        this.console = b.console;
        this.streams = b.streams;
        this.bootTimer = b.bootTimer;
        this.commandLine = b.commandLine;
        this.kernel = b.kernel;
        this.coalesced = b.coalesced == null ? null : new CoalescedWrites(b.coalesced, exitHandler);
        this.earlyAllocationsEnd = b.earlyAllocationsEnd;
        this.timeline = b.timeline;
        this.events = b.watch.events();
        this.letGoOfHostWork = b::letGoOfHostWork;
        this.closeHostSides = b::closeHostSides;
    }

    /**
     * Builds the VM. {@code output} receives the guest console; {@code startNanos} is when the VMM started (for
     * the boot time). Everything opened so far is closed again if a step fails.
     */
    public static Machine create(Kvm kvm, MachineConfig config, OutputStream output, long startNanos) {
        return create(kvm, config, output, startNanos, null, null, Watch.QUIET);
    }

    /**
     * As above, recording the boot's phases in {@code timeline} unless it is null (VM and memory created, kernel
     * loaded, first KVM_RUN, the guest kernel's timestamped lines, the VM's end; with a timeline the guest kernel is
     * also asked for timestamped informational messages: {@link KernelCommandLine}), with the command's streams on
     * their own device when {@code config.hasStreamPorts()}, and reporting what {@code watch} asks for while the VM
     * is built and runs.
     */
    public static Machine create(Kvm kvm, MachineConfig config, OutputStream output, long startNanos,
            BootTimeline timeline, CommandStreams streams, Watch watch) {
        if (config.hasStreamPorts() != (streams != null)) {
            throw new IllegalArgumentException("stream ports: the configuration and the streams given disagree");
        }
        MachineAssembly b = new MachineAssembly(config, timeline);
        b.streams = streams;
        b.watch = watch;
        try {
            b.build(kvm, output, startNanos);
            Machine machine = new Machine(b);
            b.reset = machine::resetRequested;
            b.commandEnded = machine::commandEnded;
            b.workerFailed = machine::workerFailed;
            return machine;
        } catch (RuntimeException e) {
            b.closeAll();
            throw e;
        }
    }

    private void resetRequested() {
        if (events != EventLog.OFF) {
            events.event(GUEST_RESET);
        }
        finish(new Outcome.Stopped("the guest reset the machine"));
    }

    /**
     * Faults in the guest memory a booting Linux writes first ({@link EarlyBootMemory}), before the guest runs: for
     * a VM built ahead of its start (serve's standby), whose wait for InstanceStart has time for it. Returns whether
     * it was faulted in.
     */
    public boolean faultInBootMemory() {
        return EarlyBootMemory.faultIn(memory, kernel, earlyAllocationsEnd);
    }

    /** The --verbose line that says the guest reset the machine (its reboot). */
    public static final String GUEST_RESET = "the guest reset the machine: the VM ends";
    /** The --verbose line that says the VM ended at the command's exit status. */
    public static final String COMMAND_ENDED = "the command's exit status is in, and no writable disk, network card "
            + "or vsock device waits for the guest: the VM ends without waiting for its reboot";

    /** The guest's command ended and nothing is left to wait for ({@link MachineConfig#endsAtExitStatus}). */
    private void commandEnded() {
        if (statusAtEnd == null) {
            statusAtEnd = console.exitStatus(); // a later status line (Ctrl+Alt+Del's 130) does not change it
        }
        if (events != EventLog.OFF) {
            events.event(COMMAND_ENDED);
        }
        finish(new Outcome.Stopped("the guest's init reported the command's exit status"));
    }

    /** A device worker failed with something the device model did not turn into DEVICE_NEEDS_RESET: a VMM bug. */
    private void workerFailed(Throwable e) {
        if (outcome.completeExceptionally(e)) {
            vcpus.forEach(Vcpu::kick);
        }
    }

    private void finish(Outcome result) {
        String panic = console.panic();
        Outcome effective = panic != null && result instanceof Outcome.Stopped ? new Outcome.GuestPanic(panic) : result;
        if (timeline != null) {
            // Before completing, so that the mark is the outcome's time. A later call (another vCPU) marks nothing
            // new: the first mark of a phase wins.
            timeline.mark(BootTimeline.Phase.VM_ENDED);
        }
        if (outcome.complete(effective)) {
            console.stopWaiting(); // a vCPU waiting for a console reader that does not read must stop too
            if (streams != null) {
                streams.stopWaitingIfHostStopped(effective); // the command's reader, likewise when the host stops
            }
            letGoOfHostWork.run(); // what a guest's request can wait for without limit: before any join
            for (Vcpu vcpu : vcpus) {
                vcpu.kick();
            }
        }
    }

    /** Runs the guest until it ends and returns how. */
    public Outcome run() {
        return run(null);
    }

    /** As above; with a {@code stallLimit}, a {@link ProgressWatchdog} ends it if no exit comes for that long. */
    public Outcome run(java.time.Duration stallLimit) {
        return run(stallLimit, null);
    }

    /**
     * As above; {@code afterStart}, unless null, runs once every thread of the VM has started (the confinement
     * point, {@link Confinement}). If it throws, the VM stops and run() throws that.
     */
    public Outcome run(java.time.Duration stallLimit, Runnable afterStart) {
        workers.forEach(DeviceWorker::start);
        if (network != null) {
            network.start(netDevice, netTransport, this::workerFailed);
        }
        if (vsockSockets != null) {
            vsockSockets.start();
        }
        consoleFlusher = ConsoleFlusher.start(console);
        for (Vcpu vcpu : vcpus) {
            Thread thread = Thread.ofPlatform().name("vcpu-" + vcpu.id()).daemon().unstarted(() -> loop(vcpu));
            vcpuThreads.add(thread);
        }
        vcpuThreads.forEach(Thread::start);
        try (ProgressWatchdog watchdog = stallLimit == null ? null : watchdog(stallLimit)) {
            if (afterStart != null) {
                try {
                    afterStart.run();
                } catch (RuntimeException e) {
                    workerFailed(e);
                }
            }
            bootTimer.afterMarkerUnless(outcome, NativeHeap::trim); // start-up's freed memory, back at the boot
            Outcome result = outcome.join();
            if (joinVcpuThreads()) { // kicked when the outcome was set: this is the stop latency the timeline shows
                drainCoalesced(); // the last bytes written before the end, should no exit have followed them
            }
            // Every byte for a slow reader, unless the user (or the stall watchdog) stopped the VM: 2 s at most then.
            consoleFlusher.finish(result instanceof Outcome.StoppedByHost || result instanceof Outcome.Stalled
                    ? HOST_STOP_OUTPUT_LIMIT : null);
            if (result instanceof Outcome.Stalled stalled && !stallPlaces.isEmpty()) {
                // Where the guest spun: a reader resolves the addresses with `nm vmlinux` (docs/lab.md, "Stalls").
                return new Outcome.Stalled(stalled.what() + "; " + String.join(", ", stallPlaces.values()));
            }
            return result;
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }

    private ProgressWatchdog watchdog(java.time.Duration limit) {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        List<Thread> watched = List.copyOf(vcpuThreads);
        // Progress: exits, and notifications the workers and the network's receive thread served (an ioeventfd kick
        // makes no exit).
        return ProgressWatchdog.start(limit,
                () -> exitHandler.stats().total() + workers.stream().mapToLong(DeviceWorker::served).sum()
                        + (network == null ? 0 : network.wakeups()),
                () -> watched.stream().mapToLong(t -> Math.max(0, threads.getThreadCpuTime(t.threadId()))).sum(),
                what -> finish(new Outcome.Stalled(what + StallNote.of(coalesced, uart))));
    }

    /** Waits (bounded) for every vCPU thread to end; marks when they all had, on the timeline. */
    private boolean joinVcpuThreads() {
        boolean all = true;
        for (Thread thread : vcpuThreads) {
            all &= Joins.joinWithin(thread, VCPU_JOIN_LIMIT_MILLIS);
        }
        if (all && timeline != null) {
            timeline.mark(BootTimeline.Phase.VCPUS_STOPPED);
        }
        return all;
    }

    /** Ends the VM from the host side (the console's escape key, a termination signal). */
    public void stop(String why) {
        finish(new Outcome.StoppedByHost(why));
    }

    private void loop(Vcpu vcpu) {
        // Only with --verbose: building a line costs nothing to skip, and a vCPU thread runs confined (Confinement).
        boolean verbose = events != EventLog.OFF;
        if (verbose) {
            events.event("vCPU " + vcpu.id() + ": started");
        }
        try {
            vcpu.bindToCurrentThread();
            List<KvmInterruptLine> raisedInExit = KvmInterruptLine.onVcpuThread();
            // Once per thread, right before the first entry, never per exit; the first vCPU thread wins the mark.
            if (timeline != null) {
                timeline.mark(BootTimeline.Phase.FIRST_KVM_RUN);
            }
            while (!outcome.isDone()) {
                VcpuExit exit = vcpu.run();
                if (coalesced != null) {
                    coalesced.beforeHandling(exit); // the guest's earlier writes reach their device first
                }
                Outcome result = exitHandler.handle(exit);
                KvmInterruptLine.pulseRaised(raisedInExit); // the lines still high after the exit, before the entry
                if (result instanceof Outcome.GuestCrash crash) {
                    result = new Outcome.GuestCrash(crash.reason() + "; " + place(vcpu));
                }
                if (result != null) {
                    if (verbose) {
                        events.event("vCPU " + vcpu.id() + ": " + result.describe());
                    }
                    finish(result);
                }
            }
            if (verbose) {
                events.event("vCPU " + vcpu.id() + ": stopped");
            }
        } catch (Throwable e) {
            if (verbose) {
                events.event("vCPU " + vcpu.id() + ": failed: " + e);
            }
            // Not the guest's doing (a failed ioctl, a bug in a device model): the VMM failed. run() rethrows it,
            // so the user sees it as Panavisor's error, not as a guest crash, and no thread dies silently.
            if (outcome.completeExceptionally(e)) {
                vcpus.forEach(Vcpu::kick);
            }
        } finally {
            if (outcome.isDone() && !outcome.isCompletedExceptionally() && outcome.join() instanceof Outcome.Stalled) {
                noteStallPlace(vcpu);
            }
            vcpu.unbindThread();
        }
    }

    private void drainCoalesced() {
        if (coalesced != null) {
            coalesced.drainAll();
        }
    }

    /** Notes where a stalled vCPU stood; called on its own thread once it has left KVM_RUN. */
    private void noteStallPlace(Vcpu vcpu) {
        stallPlaces.put(vcpu.id(), place(vcpu));
    }

    /**
     * "vCPU 0 at rip 0x...": where a vCPU stood when it stopped or crashed, for the user's one line (a reader finds
     * the function with `nm -n vmlinux`). Read on the vCPU's own thread, to which KVM's vCPU ioctls belong.
     */
    private static String place(Vcpu vcpu) {
        try {
            return "vCPU " + vcpu.id() + " at rip 0x" + Long.toHexString(vcpu.regs().get(Reg.RIP));
        } catch (RuntimeException e) {
            return "vCPU " + vcpu.id() + " registers unreadable (" + e.getMessage() + ")";
        }
    }

    /**
     * Delivers bytes typed by the user to the guest console. Returns how many were taken; the UART's FIFO may be
     * full, in which case the caller retries the rest later.
     */
    public int typeIntoConsole(byte[] bytes, int offset, int length) {
        if (virtioConsole != null) {
            synchronized (virtioConsoleTransport) { // the console device's lock, as on its bus accesses
                return closed ? 0 : virtioConsole.receive(bytes, offset, length);
            }
        }
        synchronized (uart) {
            return closed ? 0 : uart.receive(bytes, offset, length);
        }
    }

    /**
     * Presses Ctrl+Alt+Del on the guest's keyboard (Firecracker's SendCtrlAltDel); the guest decides what follows.
     * Returns false when the guest's keyboard did not take it (disabled, or the VM is over).
     */
    public boolean pressCtrlAltDel() {
        synchronized (i8042) { // the device's lock, as on its bus accesses
            return !closed && isRunning() && i8042.pressCtrlAltDel();
        }
    }

    public boolean isRunning() {
        return !outcome.isDone();
    }

    public String commandLine() {
        return commandLine;
    }

    public LoadedKernel kernel() {
        return kernel;
    }

    /** The guest command's exit status in command mode, or null if the guest did not report one. */
    public Integer guestExitStatus() {
        Integer atEnd = statusAtEnd;
        return atEnd != null ? atEnd : console.exitStatus();
    }

    /** Nanoseconds from VMM start to the guest init's boot marker, or -1. */
    public long bootNanos() {
        return bootTimer.bootNanos();
    }

    public ExitStats exitStats() {
        return exitHandler.stats();
    }

    public List<VirtioBlock> blocks() {
        return blocks;
    }

    /** This process's resident memory now, apart from guest memory's pages (run --stats; docs/performance.md). */
    public Smaps.Overhead memoryOverhead() {
        return Smaps.ofSelf().overhead(Smaps.at(memory.hostSegment().address(), memory.hostSegment().byteSize()));
    }

    /**
     * Stops everything and frees the VM, in an order that never pulls memory from under a thread: every vCPU is
     * kicked out of KVM_RUN ({@link Vcpu#kick()}; this also stops a vCPU that the guest parked in HLT with
     * interrupts off, as Linux does to the other CPUs when it reboots) and its thread joined; then each device worker
     * is stopped and joined (no request is in flight after that); then the disks are flushed and closed, the VM
     * closed (ending its ioeventfds and irqfds) and guest memory unmapped.
     */
    @Override
    public void close() {
        closed = true;
        // Closed while running (the caller failed before stopping it): end the run loops (a kick alone restarts
        // them), and any vCPU's wait for a console reader that does not read.
        outcome.complete(new Outcome.StoppedByHost("the VM was closed while running"));
        console.stopWaiting();
        letGoOfHostWork.run(); // as in finish(), when run() never finished: before the joins below
        vcpus.forEach(Vcpu::kick);
        List<String> stuck = new ArrayList<>();
        for (Thread thread : vcpuThreads) {
            if (!Joins.joinWithin(thread, VCPU_JOIN_LIMIT_MILLIS)) {
                stuck.add(thread.getName());
            }
        }
        if (stuck.isEmpty()) {
            drainCoalesced(); // when run() failed before its own last drain
        }
        closeHostSides.run(); // workers, network, vsock and the notices: MachineAssembly.closeHostSides
        if (consoleFlusher != null) {
            consoleFlusher.close();
        } else {
            ConsoleFlusher.flushAll(console);
        }
        VmmException flushFailure = null;
        for (VirtioBlock block : blocks) {
            try {
                block.flush(); // as the guest's flushes: it fails if one of them failed (DiskFlushes)
            } catch (java.io.IOException e) {
                flushFailure = new VmmException("cannot flush disk " + block.disk().name() + ": " + e.getMessage(), e);
            } finally {
                block.disk().close();
            }
        }
        if (stuck.isEmpty()) {
            Joins.passThrough(uart, i8042, virtioConsoleTransport); // typed keys that saw closed false are in
            vm.close();
            lines.forEach(KvmInterruptLine::close);
            memory.close();
            if (timeline != null) {
                timeline.mark(BootTimeline.Phase.VM_CLOSED);
            }
        }
        if (flushFailure != null) {
            throw flushFailure;
        }
        if (!stuck.isEmpty()) {
            // A kicked vCPU leaves KVM_RUN within microseconds; one that has not after seconds is a bug. Its memory
            // stays mapped (unmapping it under a running thread would crash the JVM) until the process ends.
            throw new VmmException(String.join(", ", stuck) + " did not stop within " + VCPU_JOIN_LIMIT_MILLIS
                    + " ms of being kicked");
        }
    }

    /** A safety net, not a step of the normal path: a kicked vCPU thread ends at once. */
    private static final long VCPU_JOIN_LIMIT_MILLIS = 10_000;
    /** How long a VM the host stopped waits for its console's, or command's, reader to take the last output. */
    static final java.time.Duration HOST_STOP_OUTPUT_LIMIT = java.time.Duration.ofSeconds(2);
}
