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
        List<String> command = new ArrayList<>(UserJvm.java(false));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LabRunProbe.class.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(line);
                if (line.equals("ready")) {
                    ProcessSignal.send(child.pid(), ProcessSignal.SIGPWR);
                }
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not end");
        assertEquals(143, child.exitValue(), "SIGTERM's status, not SIGPWR's death (158): " + lines);
        assertEquals(List.of("ready", "panavisor: SIGPWR: the VM runs in the nested lab, where no keyboard press "
                + "reaches it from here; stopping it instead, as SIGTERM does", "shutdown hooks ran"), lines);
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
}
