package dev.panavisor.vmm;

import dev.panavisor.measure.Decimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * When each phase of one {@code panavisor run} ended, for {@code run --timeline} (docs/boot.md, "The boot
 * timeline"). Times are {@link System#nanoTime()} readings, reported relative to the process's start, so the first
 * number includes the JVM's own start-up. The two guest-kernel phases also keep the kernel's printk timestamp:
 * its clock starts with the guest kernel, so it shows how long the guest itself took, apart from the host's
 * latency in delivering the console line.
 *
 * <p>Marks come from several threads (the command's, each vCPU thread, the console feed, which runs on whichever
 * vCPU thread wrote the byte); the first mark of a phase wins and later ones are ignored, so the vCPU threads can
 * all report "first KVM_RUN" without coordinating. Marking is rare (once per phase, and once per kernel log
 * line), so one lock is plenty.
 */
public final class BootTimeline {
    /** The phases, in the order a boot passes them. */
    public enum Phase {
        JVM_UP("JVM up (main entered)"),
        COMMAND_PARSED("command parsed"),
        IMAGES_LOCATED("images located and checked"),
        VM_CREATED("VM and memory created"),
        KERNEL_LOADED("kernel and initrd loaded, boot params written"),
        FIRST_KVM_RUN("first KVM_RUN"),
        GUEST_FIRST_LINE("guest kernel's first console line"),
        GUEST_RUNS_INIT("guest kernel runs init"),
        BOOT_MARKER("init's boot marker (port 0x440)"),
        EXIT_STATUS("init's report of the command's exit status"),
        VM_ENDED("VM ended"),
        VCPUS_STOPPED("every vCPU kicked out of KVM_RUN and its thread ended"),
        VM_CLOSED("VM closed: device threads joined, KVM's VM closed, guest memory unmapped");

        private final String label;

        Phase(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** One phase as reported: host time since process start, and the guest's printk clock for guest lines. */
    public record Entry(Phase phase, long sinceStartNanos, long guestMicros) {
        /** Whether the run got this far. */
        public boolean reached() {
            return sinceStartNanos != UNSET;
        }

        public boolean hasGuestClock() {
            return guestMicros != UNSET;
        }
    }

    static final long UNSET = Long.MIN_VALUE;

    /**
     * The line the kernel prints just before it executes the first user-space program: in Linux 6.1,
     * init/main.c run_init_process() has {@code pr_info("Run %s as init process\n", init_filename)}, with /init from
     * an initramfs or /sbin/init (or init=) from a root disk. It is KERN_INFO, so it reaches the console only
     * when the console loglevel is above 6 (see {@link KernelCommandLine}).
     */
    private static final Pattern RUNS_INIT = Pattern.compile("Run \\S+ as init process");

    private final long startNanos;
    private final long[] hostNanos = new long[Phase.values().length];
    private final long[] guestMicros = new long[Phase.values().length];

    /** A timeline counting from {@code startNanos}, a {@link System#nanoTime()} reading (the process's start). */
    public BootTimeline(long startNanos) {
        this.startNanos = startNanos;
        Arrays.fill(hostNanos, UNSET);
        Arrays.fill(guestMicros, UNSET);
    }

    /** Marks {@code phase} as ended now, unless it already was. */
    public void mark(Phase phase) {
        markAt(phase, System.nanoTime());
    }

    /** Marks {@code phase} as ended at {@code nanos}, a {@link System#nanoTime()} reading, unless it already was. */
    public synchronized void markAt(Phase phase, long nanos) {
        if (hostNanos[phase.ordinal()] == UNSET) {
            hostNanos[phase.ordinal()] = nanos;
            emit(phase.label(), nanos - startNanos, BootPhaseEvent.NO_GUEST_CLOCK);
        }
    }

    /**
     * Emits a flight-recorder event for every phase marked so far: a recording started after the first phases
     * (run --jfr starts one once the command is parsed) still gets them, with their own times.
     */
    public synchronized void emitMarkedPhases() {
        for (Phase phase : Phase.values()) {
            if (hostNanos[phase.ordinal()] != UNSET) {
                long guest = guestMicros[phase.ordinal()];
                emit(phase.label(), hostNanos[phase.ordinal()] - startNanos,
                        guest == UNSET ? BootPhaseEvent.NO_GUEST_CLOCK : guest);
            }
        }
    }

    /**
     * A timestamped line from the guest kernel's log, as {@link PrintkReader} delivers it: the first one is the
     * first console line; the one that says the kernel runs init is that phase.
     */
    public void kernelLine(PrintkReader.Line line) {
        markGuestLine(Phase.GUEST_FIRST_LINE, line);
        if (RUNS_INIT.matcher(line.message()).lookingAt()) {
            markGuestLine(Phase.GUEST_RUNS_INIT, line);
        }
    }

    private synchronized void markGuestLine(Phase phase, PrintkReader.Line line) {
        if (hostNanos[phase.ordinal()] == UNSET) {
            hostNanos[phase.ordinal()] = line.arrivalNanos();
            guestMicros[phase.ordinal()] = line.guestMicros();
            emit(phase.label(), line.arrivalNanos() - startNanos, line.guestMicros());
        }
    }

    /**
     * A flight-recorder event, only when JFR is up (run --jfr, -XX:StartFlightRecording). Otherwise the event class
     * is never even loaded: loading the first JFR event class sets up JFR's event machinery, which cost a run 57 ms
     * on this host and 450-870 ms on the lab's emulated CPU, on the boot's critical path (docs/performance.md).
     */
    private static void emit(String phase, long sinceStartNanos, long guestMicros) {
        if (jdk.jfr.FlightRecorder.isInitialized()) {
            BootPhaseEvent.emit(phase, sinceStartNanos, guestMicros);
        }
    }

    /** Every phase, in boot order, reached or not. */
    public synchronized List<Entry> entries() {
        List<Entry> entries = new ArrayList<>();
        for (Phase phase : Phase.values()) {
            long host = hostNanos[phase.ordinal()];
            entries.add(new Entry(phase, host == UNSET ? UNSET : host - startNanos, guestMicros[phase.ordinal()]));
        }
        return entries;
    }

    /** The report: one line per phase, in boot order. */
    public List<String> report() {
        return entries().stream().map(BootTimeline::format).toList();
    }

    /**
     * One report line, e.g. {@code panavisor: timeline    812.4 ms  VM and memory created}, a guest line with
     * {@code (guest clock 1.234 s)} after it, and {@code not reached} in place of the time for a phase the run
     * never got to (a guest without Panavisor's init has no boot marker).
     */
    static String format(Entry entry) {
        // Both forms are 11 characters wide, so the labels line up up to 99999.9 ms (a slow boot in the lab).
        String time = entry.reached()
                ? Decimal.padded(entry.sinceStartNanos(), 1_000_000, 1, 8) + " ms" : "not reached";
        String guest = entry.hasGuestClock()
                ? " (guest clock " + Decimal.of(entry.guestMicros(), 1_000_000, 3) + " s)" : "";
        return "panavisor: timeline " + time + "  " + entry.phase().label() + guest;
    }
}
