package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.sys.ProcessSignal;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** SIGPWR to a run that goes through the nested lab: one line, then the stop SIGTERM makes (a child JVM). */
class CtrlAltDelSignalTest {
    @Test
    @Timeout(120)
    void sigpwr_on_a_lab_run_says_so_and_stops_as_sigterm_does() throws Exception {
        List<String> lines = new ArrayList<>();
        Process child = runProbe(LabRunProbe.class, "ready", lines, pid -> { });
        assertEquals(143, child.exitValue(), "SIGTERM's status, not SIGPWR's death (158): " + lines);
        assertEquals(List.of("ready", "panavisor: SIGPWR: the VM runs in the nested lab, where no keyboard press "
                + "reaches it from here; stopping it instead, as SIGTERM does", "shutdown hooks ran"), lines);
    }

    /**
     * Starts {@code probe}'s main in a child JVM, collects its output lines in {@code lines}, sends it SIGPWR when it
     * prints {@code cue} (after {@code beforeSignal} with its pid), and returns it once it has ended.
     */
    private static Process runProbe(Class<?> probe, String cue, List<String> lines,
            java.util.function.LongConsumer beforeSignal) throws Exception {
        List<String> command = new ArrayList<>(UserJvm.java(false));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), probe.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(line);
                if (line.equals(cue)) {
                    beforeSignal.accept(child.pid());
                    ProcessSignal.send(child.pid(), ProcessSignal.SIGPWR);
                }
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not end");
        return child;
    }

    /** A process standing for a run in the lab: the handler installed, a shutdown hook as the lab's, then a wait. */
    public static final class LabRunProbe {
        public static void main(String[] args) throws InterruptedException {
            PrintWriter err = new PrintWriter(System.out, true);
            CtrlAltDelSignal.installForLab(err);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("shutdown hooks ran")));
            System.out.println("ready");
            Thread.sleep(60_000);
        }
    }

    /**
     * SIGPWR before the VM is built (serve's SendCtrlAltDel right after InstanceStart): kept, not the JVM's death,
     * and pressed once the VM is there. The handler shows in the process's SigCgt mask, which serve waits for.
     */
    @Test
    @Timeout(120)
    void sigpwr_before_the_vm_is_built_is_pressed_once_it_is() throws Exception {
        List<String> lines = new ArrayList<>();
        Process child = runProbe(EarlyPressProbe.class, "holding", lines, pid ->
                assertTrue(ProcessSignal.catches(pid, ProcessSignal.SIGPWR), "SigCgt shows the handler"));
        assertEquals(0, child.exitValue(), "not SIGPWR's death (158): " + lines);
        assertEquals(List.of("holding", "built", "guest ready", "keys pressed",
                "panavisor: Ctrl+Alt+Del pressed on the guest's keyboard (SIGPWR)"), lines);
    }

    @Test
    void sigcgt_is_read_bit_by_signal() {
        String status = "Name:\tjava\nSigIgn:\t0000000000000001\nSigCgt:\t0000000020004002\nCapInh:\t0\n";
        assertTrue(ProcessSignal.catches(status, ProcessSignal.SIGPWR)); // bit 29
        assertTrue(ProcessSignal.catches(status, 2)); // SIGINT, bit 1
        assertTrue(ProcessSignal.catches(status, 15)); // SIGTERM, bit 14
        assertEquals(false, ProcessSignal.catches(status, 1), "SIGHUP is ignored, not caught");
        assertEquals(false, ProcessSignal.catches("Name:\tjava\n", 2), "no mask: nothing known to be caught");
        assertEquals(false, ProcessSignal.catches(-1, 2), "no such process");
    }

    /** A process standing for a run whose VM is being built: SIGPWR held, then the VM built and its handler in. */
    public static final class EarlyPressProbe {
        public static void main(String[] args) throws InterruptedException {
            PrintWriter err = new PrintWriter(System.out, true);
            CtrlAltDelSignal.holdUntilBuilt();
            System.out.println("holding");
            Thread.sleep(2_000); // the VM's build, during which the signal comes
            System.out.println("built");
            CtrlAltDelSignal.install(() -> {
                System.out.println("keys pressed");
                return true;
            }, err, () -> System.out.println("guest ready"));
            Thread.sleep(1_000); // the held press goes on a thread of its own
        }
    }
}
