package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.LabScenarios;
import dev.panavisor.testing.LabSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * How a running Linux guest ends when the host ends it, and how it spreads over many vCPUs, inside the nested lab:
 * SIGKILLs at random moments while the guest writes and syncs (no synced write lost, the file system clean),
 * SIGINT (the VM stopped, the disk flushed, status 130), and four vCPUs that each run a pinned task. One lab session
 * runs {@code lifecycle-scenarios.sh}; each test below checks what it left.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LifecycleLabTest {
    /**
     * SIGKILL rounds: each is a whole boot in the lab (half a minute to a minute under load), so the suite runs 8;
     * the 20 (docs/security.md) are {@code -Dpanavisor.sigkill.rounds=20}.
     */
    private static final int ROUNDS = Integer.getInteger("panavisor.sigkill.rounds", 8);
    private LabSession session;

    @BeforeAll
    void runEveryScenarioInOneLab() {
        session = LabSession.start(() -> LabScenarios.run(LifecycleLabTest.class, "lifecycle-scenarios.sh",
                "lifecycle", Duration.ofMinutes(10 + 2L * ROUNDS), Map.of("ROUNDS", Integer.toString(ROUNDS))));
    }

    private String read(String name) throws IOException {
        Path file = session.work().resolve(name);
        return Files.exists(file) ? Files.readString(file) : "(no " + name + ")";
    }

    private String describe(String scenario) throws IOException {
        return scenario + ": rc=" + read(scenario + ".rc").strip() + "\n--- out (last lines):\n"
                + tail(read(scenario + ".out")) + "\n--- err:\n" + read(scenario + ".err");
    }

    private static String tail(String text) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    }

    @Test
    void no_write_the_guest_saw_synced_is_lost_to_sigkill_and_the_file_system_stays_clean() throws IOException {
        Pattern synced = Pattern.compile("(?m)^synced write-([0-9]+)$");
        List<String> report = new ArrayList<>();
        int previousLast = 0;
        for (int round = 1; round <= ROUNDS; round++) {
            String scenario = "kill-" + round;
            assertEquals("137", read(scenario + ".rc").strip(), "killed by SIGKILL: " + describe(scenario));
            Matcher m = synced.matcher(read(scenario + ".out"));
            int lastSynced = 0;
            while (m.find()) {
                lastSynced = Integer.parseInt(m.group(1));
            }
            assertTrue(lastSynced > previousLast, "the guest synced new writes in this round: " + describe(scenario));
            assertEquals("0", read("fsck-" + round + ".rc").strip(),
                    "e2fsck -fn after the journal replay, round " + round + ":\n" + read("fsck-" + round + ".txt")
                            + "\n--- replay:\n" + read("replay-" + round + ".txt"));
            List<String> log = read("log-" + round + ".txt").lines().toList();
            assertTrue(log.size() >= lastSynced, "round " + round + ": the host saw write-" + lastSynced
                    + " synced, the disk holds " + log.size() + " lines");
            for (int i = 0; i < log.size(); i++) {
                assertEquals("write-" + (i + 1), log.get(i), "round " + round + ", line " + (i + 1));
            }
            report.add(lastSynced + "/" + log.size());
            previousLast = lastSynced;
        }
        // For the report: per round, the last write seen synced / the lines on disk after the kill.
        System.out.println("sigkill rounds (last synced / lines on disk): " + String.join(" ", report));
    }

    @Test
    void sigint_stops_the_vm_with_status_130_and_the_disk_holds_what_the_guest_wrote() throws IOException {
        assertEquals("130", read("sigint.rc").strip(), describe("sigint"));
        assertTrue(read("sigint.err").contains("panavisor: stopping the VM (termination signal)"), describe("sigint"));
        assertFalse(read("sigint.err").contains("Exception"), describe("sigint"));
        assertEquals("before-sigint\n", read("sigint-file.txt"), describe("sigint"));
    }

    @Test
    void four_vcpus_are_seen_and_each_runs_a_task_pinned_to_it() throws IOException {
        assertEquals("0", read("cpus4.rc").strip(), describe("cpus4"));
        String out = read("cpus4.out");
        assertEquals("4", out.lines().findFirst().orElse("").strip(), describe("cpus4"));
        for (int cpu = 0; cpu < 4; cpu++) {
            assertTrue(out.contains("pinned-" + cpu + "-ran-on-" + cpu), "cpu " + cpu + ": " + describe("cpus4"));
        }
        // /proc/stat before and after: the user time each vCPU gained while the four tasks spun (printed only).
        Matcher stat = Pattern.compile("(?m)^cpu([0-3]) ([0-9]+)").matcher(out);
        long[] first = new long[4];
        StringBuilder gained = new StringBuilder();
        int seen = 0;
        while (stat.find()) {
            int cpu = Integer.parseInt(stat.group(1));
            long user = Long.parseLong(stat.group(2));
            if (seen++ < 4) {
                first[cpu] = user;
            } else {
                assertTrue(user > first[cpu], "cpu" + cpu + " gained user time: " + describe("cpus4"));
                gained.append(" cpu").append(cpu).append('=').append((user - first[cpu]) * 10).append(" ms");
            }
        }
        assertEquals(8, seen, "two /proc/stat snapshots of four CPUs: " + describe("cpus4"));
        System.out.println("cpus4: user time gained while four pinned tasks spun 3 s:" + gained);
    }
}
