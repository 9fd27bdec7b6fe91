package dev.panavisor.vmm;

import dev.panavisor.boot.BootParams;
import dev.panavisor.boot.CommandLine;
import dev.panavisor.boot.E820Map;
import dev.panavisor.boot.InitrdLoader;
import dev.panavisor.boot.KernelImage;
import dev.panavisor.boot.LoadedInitrd;
import dev.panavisor.boot.LoadedKernel;
import dev.panavisor.boot.MpTable;
import dev.panavisor.bus.Bus;
import dev.panavisor.cpu.CpuidFixups;
import dev.panavisor.cpu.VcpuSetup;
import dev.panavisor.devices.legacy.I8042;
import dev.panavisor.devices.serial.Uart8250;
import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.block.FileDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.console.VirtioConsole;
import dev.panavisor.devices.virtio.mmio.MmioRegisters;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.devices.virtio.net.VirtioNet;
import dev.panavisor.devices.virtio.vsock.VirtioVsock;
import dev.panavisor.kvm.CoalescedRing;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.Vcpu;
import dev.panavisor.kvm.Vm;
import dev.panavisor.kvm.abi.KvmCap;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.MappedGuestMemory;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Puts a {@link Machine} together, step by step, in the order of a boot: KVM's VM and in-kernel platform, guest
 * memory, the devices on their buses, the kernel, initrd, command line, MP table and boot_params in memory, and the
 * vCPUs (docs/boot.md, "The life of a boot", step 5). It holds the mutable state while that happens, so that
 * {@link Machine#create} can close everything opened so far if a step fails.
 */
final class MachineAssembly {
    final MachineConfig config;
    Vm vm;
    MappedGuestMemory memory;
    List<Vcpu> vcpus = new ArrayList<>();
    Uart8250 uart;
    I8042 i8042;
    VirtioConsole virtioConsole;
    VirtioMmioTransport virtioConsoleTransport;
    final List<DeviceWorker> workers = new ArrayList<>();
    final List<KvmInterruptLine> lines = new ArrayList<>();
    final List<VirtioBlock> blocks = new ArrayList<>();
    final List<FileDiskBackend> disks = new ArrayList<>();
    ConsoleWatcher console;
    BootTimer bootTimer;
    String commandLine;
    LoadedKernel kernel;
    /** KVM's coalesced write ring, null where KVM coalesces none of the writes asked for. */
    CoalescedRing coalesced;
    /**
     * {@code -Dpanavisor.mmio.coalesceAck=false} lets InterruptACK writes exit as before: for measurements
     * (docs/performance.md, "One exit per interrupt").
     */
    static final String COALESCE_ACK_PROPERTY = "panavisor.mmio.coalesceAck";
    int virtioDeviceCount;
    /** The initrd's start, else the end of RAM: where the guest kernel's first allocations end (EarlyBootMemory). */
    long earlyAllocationsEnd;
    ExitHandler exitHandler;
    /** The network card's host side, device and transport (whose monitor guards the device); null without --net. */
    HostNetwork network;
    VirtioNet netDevice;
    VirtioMmioTransport netTransport;
    /** The command's streams ({@code run --exec}), one more virtio device; null without. */
    CommandStreams streams;
    /** The vsock device's host sockets ({@code run --vsock}); null without. */
    VsockSockets vsockSockets;
    final BootTimeline timeline;
    /** The notices the user sees without --verbose, written to stderr by a thread of their own. */
    final StderrNotices notices = new StderrNotices(System.err);
    /** What the run reports as it goes (run --verbose, --trace exits). */
    Watch watch = Watch.QUIET;
    volatile Runnable reset = () -> { };
    /** Ends the run once the command's status is known, where the configuration allows it. */
    volatile Runnable commandEnded = () -> { };
    volatile java.util.function.Consumer<Throwable> workerFailed = e -> { };

    MachineAssembly(MachineConfig config, BootTimeline timeline) {
        this.config = config;
        this.timeline = timeline;
    }

    /**
     * What the VM's end does at once, before it joins any thread ({@code Machine.finish}, and {@code close}): the
     * host sides on which a guest's request can wait without limit let go of it. passt's socket is shut for sending
     * (a transmit blocked on a passt that stopped reading fails), and each disk abandons its transfers (a hostile
     * request of hundreds of GiB stops at its next 16 MiB). Otherwise the work in flight would hold the device's
     * worker, whose join the end waits for, and a vCPU whose guest resets the device: that reset waits for the work
     * in user space, where no kick reaches it.
     */
    void letGoOfHostWork() {
        if (network != null) {
            network.stopSending();
        }
        for (VirtioBlock block : blocks) {
            block.disk().abandonTransfers();
        }
    }

    void mark(BootTimeline.Phase phase) {
        if (timeline != null) {
            timeline.mark(phase);
        }
    }

    /**
     * Starts and closes {@code warmUp} (or nothing, if null) with {@code worker}, and begins it at the guest's boot
     * marker: the guest's init runs, its boot is over and its work is to come.
     */
    private void warmUp(DeviceWorker worker, PathWarmUp warmUp) {
        if (warmUp != null) {
            bootTimer.onMarker(warmUp::begin);
            worker.startAndCloseWith(warmUp);
        }
    }

    void build(Kvm kvm, OutputStream output, long startNanos) {
        requireCapabilities(kvm);
        E820Map.requireBootable(config.memoryBytes());
        if (config.memoryBytes() > GuestLayout.RAM_LIMIT) {
            throw new VmmException(String.format("memory size %d MiB is more than the %d MiB Panavisor can "
                    + "place below its MMIO hole", config.memoryBytes() >> 20, GuestLayout.RAM_LIMIT >> 20));
        }
        // Read the kernel before touching KVM, so a bad file fails fast and cheaply; its mapping goes once the
        // machine is built, the kernel copied into guest memory.
        try (KernelImage image = KernelImage.read(config.kernel())) {
            buildWith(kvm, output, startNanos, image);
        }
    }

    private void buildWith(Kvm kvm, OutputStream output, long startNanos, KernelImage image) {
        // 1. The VM and its in-kernel platform: PIC + IOAPIC + LAPICs, PIT. (TSS/identity map: Intel only.)
        vm = kvm.createVm();
        vm.setTssAddress(GuestLayout.KVM_TSS_ADDRESS);
        vm.setIdentityMapAddress(GuestLayout.KVM_IDENTITY_MAP_ADDRESS);
        vm.createIrqchip();
        vm.createPit2();

        // 2. Guest RAM: one slot from guest-physical 0.
        memory = MappedGuestMemory.allocate(config.memoryBytes());
        vm.setUserMemoryRegion(0, 0, memory.hostSegment());
        mark(BootTimeline.Phase.VM_CREATED);

        // 3. Devices on the buses.
        Bus pio = new Bus("port I/O");
        Bus mmio = new Bus("MMIO");
        EventLog events = watch.events();
        if (events != EventLog.OFF) {
            UnclaimedAccesses unclaimed = new UnclaimedAccesses(events);
            pio.onMiss(unclaimed);
            mmio.onMiss(unclaimed);
        }
        console = new ConsoleWatcher(output, config.exec().isPresent(),
                timeline == null ? null : new PrintkReader(System::nanoTime, timeline::kernelLine),
                this::exitStatusReported);
        boolean serialConsole = config.console() == MachineConfig.ConsoleKind.SERIAL;
        uart = new Uart8250(serialConsole ? console : OutputStream.nullOutputStream(),
                interruptLine(Uart8250.COM1_IRQ));
        pio.register("COM1", Uart8250.COM1_BASE, Uart8250.PORT_COUNT, uart);
        i8042 = new I8042(() -> reset.run(), interruptLine(I8042.KEYBOARD_IRQ));
        pio.register("i8042", I8042.DATA_PORT, 1, i8042.dataPort(), i8042);
        pio.register("i8042", I8042.COMMAND_PORT, 1, i8042.commandPort(), i8042);
        bootTimer = new BootTimer(startNanos);
        pio.register("boot timer", BootTimer.PORT, 1, bootTimer);

        List<VirtioDevice> virtioDevices = new ArrayList<>();
        if (!serialConsole) {
            virtioConsole = new VirtioConsole(console);
            virtioDevices.add(virtioConsole);
        }
        for (int i = 0; i < config.disks().size(); i++) {
            MachineConfig.Disk disk = config.disks().get(i);
            FileDiskBackend backend = FileDiskBackend.open(disk.path(), disk.readOnly());
            disks.add(backend);
            VirtioBlock block = new VirtioBlock(backend, "panavisor-vd" + (char) ('a' + i));
            block.onRequestError(events::event);
            block.onHostError(notices::event); // the user hears of a failing disk without --verbose
            blocks.add(block);
            virtioDevices.add(block);
        }
        if (streams != null) {
            virtioDevices.add(streams.device());
        }
        if (config.net().isPresent()) {
            MachineConfig.Net net = config.net().get();
            Consumer<String> warnings = notices::event; // a backend failing mid-run: one line
            network = switch (net.backend()) {
                case MachineConfig.Tap(String name) -> TapNetwork.open(name, warnings);
                case MachineConfig.UserNetwork user -> PasstNetwork.start("passt", user, warnings);
            };
            HostNetwork wakeable = network;
            netDevice = new VirtioNet(network, net.mac(), wakeable::wake);
            netDevice.onDrop(events::event);
            virtioDevices.add(netDevice);
        }
        VirtioVsock vsock = null;
        if (config.vsock().isPresent()) {
            vsockSockets = VsockSockets.open(config.vsock().get().path());
            vsock = new VirtioVsock(config.vsock().get().cid(), vsockSockets);
            virtioDevices.add(vsock);
        }
        List<KernelCommandLine.MmioDevice> declared = MachineConfig.declaredDevices(config);
        for (int i = 0; i < virtioDevices.size(); i++) {
            long base = GuestLayout.VIRTIO_MMIO_BASE + i * GuestLayout.VIRTIO_MMIO_SIZE;
            int irq = Machine.FIRST_VIRTIO_IRQ + i;
            VirtioDevice device = virtioDevices.get(i);
            VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, interruptLine(irq));
            transport.onNeedsReset(new NeedsResetReporter(notices)); // one line when the guest breaks it
            if (events != EventLog.OFF) { // no line is formatted for a log nobody reads
                transport.onLifecycle(events::event);
                events.event(String.format("%s: virtio-mmio at 0x%x, IRQ %d", device.name(), base, irq));
            }
            mmio.register(device.name(), base, GuestLayout.VIRTIO_MMIO_SIZE, transport);
            if (device == virtioConsole) {
                virtioConsoleTransport = transport;
            } else if (streams != null && device == streams.device()) {
                streams.attach(transport);
            } else if (device == netDevice) {
                netTransport = transport;
            } else if (device == vsock) {
                vsockSockets.attach(vsock, transport); // the transport's monitor: the lock the worker takes too
            }
            DeviceWorker worker = new DeviceWorker("virtio" + i, transport, e -> workerFailed.accept(e));
            workers.add(worker);
            int helpers = IoHelpers.count();
            if (device instanceof VirtioBlock block) {
                if (helpers > 0) {
                    block.serveConcurrently(worker.helpers(helpers));
                }
                warmUp(worker, BlockPathWarmUp.forDisk(block.disk(), "device-virtio" + i));
                worker.poll(QueuePolling.forDisk(transport));
            } else if (device == netDevice) {
                warmUp(worker, NetPathWarmUp.forNetwork("device-virtio" + i));
            }
            if (kvm.has(KvmCap.IOEVENTFD)) {
                int receiveWakeup = device == netDevice ? network.receiveNotificationFd() : -1;
                if (receiveWakeup >= 0) {
                    // The receive queue's kick wakes the TAP's receive thread directly: one thread wake-up, not two.
                    worker.wire(vm, base, VirtioNet.RECEIVE_QUEUE);
                    vm.assignIoeventfd(base + MmioRegisters.QUEUE_NOTIFY, 4, VirtioNet.RECEIVE_QUEUE, receiveWakeup);
                } else {
                    worker.wire(vm, base);
                }
            }
        }
        virtioDeviceCount = virtioDevices.size();
        if (Machine.FIRST_VIRTIO_IRQ + virtioDevices.size() > MpTable.IOAPIC_PINS) {
            throw new VmmException("too many devices: " + virtioDevices.size() + " virtio devices need IRQs "
                    + "beyond the IOAPIC's " + MpTable.IOAPIC_PINS + " pins");
        }
        exitHandler = new ExitHandler(pio, mmio, watch.exits() == null ? null
                : new ExitTrace(pio, mmio, watch.exits()));

        // 4. Kernel, initrd, command line, MP table, boot_params.
        kernel = image.load(memory);
        MachineConfig.requireLongModeEntry(kernel, config.kernel());
        Optional<LoadedInitrd> initrd = config.initrd().map(path -> InitrdLoader.load(memory, kernel, path));
        earlyAllocationsEnd = initrd.map(LoadedInitrd::address).orElse(memory.size());
        commandLine = KernelCommandLine.build(config, declared, timeline != null);
        long cmdlineAddress = new CommandLine(commandLine).writeTo(memory, kernel);
        MpTable.write(memory, config.cpus());
        BootParams.write(memory, kernel, E820Map.forMemorySize(config.memoryBytes()), cmdlineAddress, initrd);
        mark(BootTimeline.Phase.KERNEL_LOADED);
        if (events != EventLog.OFF) {
            events.event(String.format("kernel %s loaded (%s entry at 0x%x); command line: %s", config.kernel(),
                    kernel.mode(), kernel.entryPoint(), commandLine));
        }

        // 5. vCPUs: all get CPUID, MSRs, FPU, LAPIC; the boot CPU also gets the 64-bit entry state.
        var cpuid = CpuidFixups.supported(kvm);
        for (int id = 0; id < config.cpus(); id++) {
            Vcpu vcpu = vm.createVcpu(id);
            vcpus.add(vcpu);
            VcpuSetup.configure(vcpu, cpuid, id, config.cpus());
        }
        VcpuSetup.enterLinux64(vcpus.getFirst(), memory, kernel.entryPoint());

        // 6. The 8250's transmit register, written once per byte: recorded in KVM's coalesced ring, no exit; each
        //    exit drains the ring first (Machine.loop), and the driver reads a status register after every byte or
        //    burst of 16, so the UART sees every byte before the guest can tell (docs/boot.md, "Writes that do not
        //    exit").
        coalesced = vm.coalescePortWrites((int) Uart8250.COM1_BASE, 1);
        if (coalesced != null && events != EventLog.OFF) {
            events.event("COM1: writes to its transmit register coalesced (KVM_CAP_COALESCED_PIO)");
        }
        //    And each virtio-mmio device's InterruptACK: the guest's interrupt handler then makes one exit (its read
        //    of InterruptStatus), not two; the acknowledgement reaches the device at the next exit, which its rules
        //    allow (devices/virtio/mmio/InterruptStatusRegister; docs/devices.md, "The interrupt line, and an
        //    acknowledgement that comes late").
        //    And its set-up registers, whose writes the transport only stores until an access that exits acts on
        //    them (MmioRegisters.STORED_WRITES): the driver's probe makes about eight exits fewer per queue.
        for (int i = 0; i < virtioDeviceCount; i++) {
            long base = GuestLayout.VIRTIO_MMIO_BASE + i * GuestLayout.VIRTIO_MMIO_SIZE;
            if (!"false".equals(System.getProperty(COALESCE_ACK_PROPERTY))) {
                coalesceMmio(base + MmioRegisters.INTERRUPT_ACK, 4, events,
                        String.format("virtio-mmio at 0x%x: InterruptACK writes coalesced", base));
            }
            for (MmioRegisters.Range range : MmioRegisters.STORED_WRITES) {
                coalesceMmio(base + range.offset(), range.size(), events, null);
            }
        }
    }

    /** Lets KVM hold back the guest's writes to [address, address + size), saying so with {@code event} if any. */
    private void coalesceMmio(long address, int size, EventLog events, String event) {
        CoalescedRing ring = vm.coalesceMmioWrites(address, size);
        coalesced = coalesced == null ? ring : coalesced;
        if (ring != null && event != null && events != EventLog.OFF) {
            events.event(event);
        }
    }

    /** The init printed the command's exit status (on the thread that delivered the console line). */
    private void exitStatusReported() {
        mark(BootTimeline.Phase.EXIT_STATUS);
        if (config.endsAtExitStatus()) {
            commandEnded.run();
        }
    }

    /** A line to {@code gsi} through an irqfd, closed with the machine. */
    KvmInterruptLine interruptLine(int gsi) {
        KvmInterruptLine line = new KvmInterruptLine(vm, gsi);
        lines.add(line);
        return line;
    }

    void requireCapabilities(Kvm kvm) {
        for (KvmCap cap : KvmCap.values()) {
            if (cap.required() && !kvm.has(cap)) {
                throw new VmmException("this KVM lacks " + cap + " (" + cap.purpose() + "), which Panavisor needs");
            }
        }
    }

    /**
     * The host sides' end, once no vCPU runs ({@code Machine.close}, and {@link #closeAll}): the device workers, the
     * network card's receive thread (it writes guest memory: stopped before the memory goes), vsock's sockets and
     * their thread, then the notices they wrote (written for {@link Machine#HOST_STOP_OUTPUT_LIMIT} at most).
     */
    void closeHostSides() {
        workers.forEach(DeviceWorker::close);
        if (network != null) {
            network.close();
        }
        if (vsockSockets != null) {
            vsockSockets.close();
        }
        notices.close();
    }

    void closeAll() {
        closeHostSides();
        if (vm != null) {
            vm.close();
        }
        lines.forEach(KvmInterruptLine::close);
        if (memory != null) {
            memory.close();
        }
        for (FileDiskBackend disk : disks) {
            disk.close();
        }
    }
}

/** The i8042 reset line: the guest rebooted (or, with panic=-1, panicked and then rebooted). */
