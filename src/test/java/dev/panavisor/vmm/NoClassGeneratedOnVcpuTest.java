package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Nothing on a vCPU thread's first exits makes the JDK generate a class: {@link ExitHandler#linkAhead} makes the exit
 * handler's pattern-switch class before the first exit, and reading the guest's first console line needs none.
 * Each case is a new JVM, since a JVM makes such a class once. Nor does a boot's exits format a line nobody reads.
 */
class NoClassGeneratedOnVcpuTest {
    private static final String SWITCH_CLASS = "ExitHandler$$TypeSwitch";

    /** A class the JVM defined from bytes made at run time, as -Xlog:class+load names its source. */
    private static final String GENERATED = "__JVM_LookupDefineClass__";

    /** The class loads the child JVM logged after its marker, while it did what {@code what} says. */
    private static String loadsAfterMarker(String what) throws Exception {
        String output = ChildJvm.run(List.of("-Xlog:class+load=info:stdout"), FirstExitMain.class, what);
        int marker = output.indexOf(FirstExitMain.MARKER);
        assertTrue(marker >= 0 && output.contains("done, lines read: "), output);
        return output.substring(marker);
    }

    /** The boot marker's exit completes what Machine.run's main thread waits on (its trim): on the vCPU thread. */
    @Test
    void the_boot_marker_wakes_its_waiter_without_generating_a_class() throws Exception {
        String during = loadsAfterMarker("marker");
        assertFalse(during.contains(GENERATED), during);
        assertFalse(during.contains("LambdaForm"), during);
    }

    @Test
    void a_cold_handler_makes_its_switch_class_at_the_first_exit() throws Exception {
        assertTrue(loadsAfterMarker("cold").contains(SWITCH_CLASS), "the check below could not fail otherwise");
    }

    @Test
    void linked_ahead_the_first_exit_makes_no_switch_class() throws Exception {
        String during = loadsAfterMarker("ahead");
        assertFalse(during.contains(SWITCH_CLASS), during);
        assertFalse(during.contains("SwitchBootstraps"), during);
        assertFalse(during.contains(GENERATED), during);
    }

    @Test
    void the_concatenation_micros_made_before_generates_a_class_at_its_first_run() throws Exception {
        assertTrue(loadsAfterMarker("concat").contains(GENERATED), "the check below could not fail otherwise");
    }

    @Test
    void the_guests_first_console_line_generates_no_class() throws Exception {
        String during = loadsAfterMarker("printk");
        assertTrue(during.contains("done, lines read: 1"), during);
        assertFalse(during.contains(GENERATED), during);
        assertFalse(during.contains("StringConcatFactory"), during);
    }

    @Test
    void a_listened_devices_activation_formats_its_line() throws Exception {
        assertTrue(loadsAfterMarker("boot-listened").contains("java.util.Formatter "),
                "the check below could not fail otherwise");
    }

    @Test
    void a_cold_coalesced_ring_makes_classes_at_its_first_drain() throws Exception {
        assertTrue(loadsAfterMarker("ring-cold").contains(GENERATED), "the check below could not fail otherwise");
    }

    @Test
    void linked_ahead_the_first_drain_of_the_coalesced_ring_makes_none() throws Exception {
        String during = loadsAfterMarker("ring-ahead");
        assertFalse(during.contains(GENERATED), during);
    }

    /** A boot's exits, DRIVER_OK included, without --verbose: no line formatted on the vCPU thread. */
    @Test
    void a_boots_exits_without_a_listener_use_no_formatter() throws Exception {
        String during = loadsAfterMarker("boot");
        assertFalse(during.contains("java.util.Formatter "), during);
    }
}
