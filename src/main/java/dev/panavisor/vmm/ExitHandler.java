package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.kvm.abi.KvmExitReason;

/**
 * The heart of the run loop: what the VMM does with one vCPU exit. Port and MMIO accesses go to their bus, which
 * holds the addressed device's own lock for the access ({@link Bus}): no lock is shared by all devices, so a vCPU
 * writing to the serial port never waits for a disk. Everything that ends the VM becomes an {@link Outcome}. Kept
 * free of KVM so it is tested with fake exits.
 */
public final class ExitHandler {
    private final Bus pio;
    private final Bus mmio;
    private final ExitStats stats = new ExitStats();
    /** run --trace exits; null when off. */
    private final ExitTrace trace;

    public ExitHandler(Bus pio, Bus mmio) {
        this(pio, mmio, null);
    }

    /** Whether JFR was up when this handler was made: exit events are then made, else never. */
    private final boolean recording;

    /** With {@code trace} (null for none), told of every exit after it was handled. */
    public ExitHandler(Bus pio, Bus mmio, ExitTrace trace) {
        this.pio = pio;
        this.mmio = mmio;
        this.trace = trace;
        // Exit events exist only when JFR is up as the VM is built (run --jfr): otherwise the event class is never
        // loaded, which would set up JFR's machinery (hundreds of ms in the lab; BootTimeline.emit). When it is up,
        // the class is loaded now, on the assembling thread: loading a class reads the jar, which the seccomp
        // filter forbids once the VM runs (vmm/Confinement), and the first exit may come after it.
        this.recording = jdk.jfr.FlightRecorder.isInitialized();
        if (recording) {
            new VmExitEvent();
        }
    }

    /**
     * Links {@link #dispatch}'s pattern switch on the calling thread, on scratch buses, before any guest runs.
     * A {@code switch} over record patterns is an invokedynamic call site: its first execution makes the JDK
     * generate a class for it ({@code SwitchBootstraps}, through the class-file API), which no AOT cache can hold.
     * On a vCPU thread that is the guest's first exit, which waits for it (about 10 ms on a host without an AOT
     * cache; in the lab the first exit took 9 ms less in the median with this). {@code run} and {@code standby}
     * call this on their {@code link-ahead} thread, beside the parsing of their options; the call site is shared by
     * every handler, so the VM's first exit finds it linked.
     */
    public static void linkAhead() {
        new ExitHandler(new Bus("scratch ports"), new Bus("scratch MMIO")).dispatch(new VcpuExit.Interrupted());
    }

    public ExitStats stats() {
        return stats;
    }

    /**
     * Handles one exit; returns null to keep running, or how the VM ended. With the trace off and JFR not up when
     * this handler was made, this costs two field checks more than {@link #dispatch} ({@code bench exits
     * --trace-cost} measures it: docs/performance.md).
     */
    public Outcome handle(VcpuExit exit) {
        Outcome result;
        if (recording) {
            VmExitEvent event = new VmExitEvent(); // run --jfr
            event.begin();
            result = dispatch(exit);
            if (event.shouldCommit()) {
                event.describe(exit);
                event.commit();
            }
        } else {
            result = dispatch(exit);
        }
        if (trace != null) {
            trace.traced(exit, result);
        }
        return result;
    }

    /**
     * A write KVM recorded in its coalesced ring instead of exiting (kvm/CoalescedRing), handed to its device now,
     * before the exit that found it in the ring is handled. Not an exit: counted apart ({@link
     * ExitStats#coalescedWrites}).
     */
    public void coalesced(boolean port, long address, int size, long value) {
        stats.coalesced();
        if (trace != null) {
            trace.coalesced(port, address, size, value);
        }
        (port ? pio : mmio).write(address, size, value);
    }

    /** The decision itself, without the trace: what {@link #handle} did before tracing existed. */
    Outcome dispatch(VcpuExit exit) {
        if (!(exit instanceof VcpuExit.IoIn || exit instanceof VcpuExit.IoOut || exit instanceof VcpuExit.MmioRead
                || exit instanceof VcpuExit.MmioWrite)) {
            stats.other();
        }
        return switch (exit) {
            case VcpuExit.IoOut out -> {
                stats.port(out.port());
                for (int i = 0; i < out.count(); i++) {
                    pio.write(out.port(), out.size(), out.data().get(i));
                }
                yield null;
            }
            case VcpuExit.IoIn in -> {
                stats.port(in.port());
                for (int i = 0; i < in.count(); i++) {
                    in.data().set(i, pio.read(in.port(), in.size()));
                }
                yield null;
            }
            case VcpuExit.MmioWrite write -> {
                stats.mmio(write.address());
                mmio.write(write.address(), write.size(), write.value());
                yield null;
            }
            case VcpuExit.MmioRead read -> {
                stats.mmio(read.address());
                read.reply(mmio.read(read.address(), read.size()));
                yield null;
            }
            // With the in-kernel irqchip KVM handles HLT inside the kernel and does not exit; only a VM without it
            // (like the tiny guests) sees this. Nothing could wake such a CPU, so the VM is over.
            case VcpuExit.Hlt hlt -> new Outcome.Stopped("the guest halted its CPU with interrupts off");
            case VcpuExit.Interrupted interrupted -> null;
            case VcpuExit.Shutdown shutdown -> new Outcome.GuestCrash("triple fault (the vCPU shut down)");
            case VcpuExit.FailEntry fail -> new Outcome.GuestCrash(String.format(
                    "VM entry failed on CPU %d (hardware reason 0x%x)", fail.cpu(), fail.hardwareReason()));
            case VcpuExit.InternalError error -> new Outcome.GuestCrash(
                    error.suberror() == VcpuExit.InternalError.EMULATION
                            ? "KVM could not emulate a guest instruction"
                            : "KVM internal error (suberror " + error.suberror() + ")");
            case VcpuExit.SystemEvent event -> switch (event.type()) {
                case KvmExitReason.SYSTEM_EVENT_SHUTDOWN -> new Outcome.Stopped("the guest powered off");
                case KvmExitReason.SYSTEM_EVENT_RESET -> new Outcome.Stopped("the guest reset");
                case KvmExitReason.SYSTEM_EVENT_CRASH -> new Outcome.GuestCrash("the guest reported a crash");
                default -> new Outcome.GuestCrash("unknown system event " + event.type());
            };
            case VcpuExit.Unknown unknown -> new Outcome.GuestCrash(
                    "unexpected KVM exit reason " + unknown.reason());
        };
    }
}
