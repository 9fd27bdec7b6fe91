package dev.panavisor.vmm;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * A JDK Flight Recorder event for a boot phase's end, as {@link BootTimeline} marks it ({@code run --jfr}). Some
 * marks are made after the fact (the JVM's start, the init's boot marker), so the time that counts is the field
 * {@code sinceStart}, the same number {@code --timeline} prints, not the event's own timestamp.
 */
@Name("dev.panavisor.BootPhase")
@Label("Boot Phase")
@Category({"Panavisor", "Boot"})
@Description("A phase of the boot ended (run --timeline's phases)")
@StackTrace(false)
public final class BootPhaseEvent extends Event {
    @Label("Phase")
    String phase;

    @Label("Since Process Start")
    @Timespan(Timespan.NANOSECONDS)
    long sinceStart;

    @Label("Guest Clock")
    @Description("The guest kernel's own timestamp for guest phases; N/A for the host's")
    @Timespan(Timespan.MICROSECONDS)
    long guestClock;

    /** guestClock for phases the host marks: Long.MIN_VALUE, which JFR's tools show as N/A. */
    static final long NO_GUEST_CLOCK = Long.MIN_VALUE;

    static void emit(String phase, long sinceStartNanos, long guestMicros) {
        BootPhaseEvent event = new BootPhaseEvent();
        if (event.shouldCommit()) {
            event.phase = phase;
            event.sinceStart = sinceStartNanos;
            event.guestClock = guestMicros;
            event.commit();
        }
    }
}
