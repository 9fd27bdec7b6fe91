package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.lab.Lab;
import dev.panavisor.testing.Requires;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kvm-tagged test of the project, run under Maven inside the nested lab, on its hardware-style kvm_amd.
 *
 * <p>This is how the kvm tests are satisfied on a host without a usable /dev/kvm (there {@code Requires.kvm()} makes
 * them step aside, naming this class); on a host with one they run directly too, and this run checks them on a
 * second kind of KVM. It is tagged both "kvm" (it is the kvm tests) and "lab" (it needs the lab): excluding either
 * tag excludes it, and the inner run excludes "lab" so it does not start itself again. Inside,
 * PANAVISOR_REQUIRE_KVM=1 turns any skip into a failure, and the inner report must say "Skipped: 0".
 */
@Tag("kvm")
@Tag("lab")
class KvmTestsInLabTest {
    /** Test classes that must be among those run inside (the ones that exercise /dev/kvm itself). */
    private static final Set<String> EXPECTED = Set.of("dev.panavisor.vmm.TinyGuestTest", "dev.panavisor.kvm.KvmTest",
            "dev.panavisor.cli.CheckCommandTest");
    private static final Pattern CLASS_LINE = Pattern.compile(
            "Tests run: (\\d+), Failures: 0, Errors: 0, Skipped: 0, Time elapsed: [^\\n]* -+ in ([\\w.]+)");
    private static final Pattern TOTAL_LINE = Pattern.compile(
            "(?m)^\\[INFO\\] Tests run: (\\d+), Failures: (\\d+), Errors: (\\d+), Skipped: (\\d+)$");

    @TempDir
    Path work;

    @Test
    void every_kvm_tagged_test_passes_inside_the_lab_under_maven() throws IOException {
        Requires.lab();
        // The project directory is a scratch overlay: the inner Maven finds the classes this build compiled at the
        // same paths (so it compiles nothing) and may write its reports, but none of that reaches the host, where
        // this very build is running. ~/.m2 stays read-only: offline, with everything there, Maven only reads it.
        Path project = Path.of(System.getProperty("user.dir"));
        LabConfig config = LabConfig.defaults().withWorkDir(work).withTimeout(Duration.ofMinutes(15))
                .withScratch(project);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        // A JVM that dies inside leaves its hs_err report in the (writable) work directory, shown on failure.
        // Every JVM in L1 (Maven's, surefire's, the tests' children) stops its JIT at C1: a C1 method replaced by
        // C2's version gets a jump patched over its entry while other vCPUs may be running it, which QEMU's TCG
        // does not always survive (docs/lab.md, "JVM crashes inside L1").
        int code = Lab.run(config, List.of("sh", "-c", "cd \"$1\" && exec env PANAVISOR_REQUIRE_KVM=1 "
                + "JAVA_TOOL_OPTIONS=\"-XX:ErrorFile=$2/hs_err_%p.log " + String.join(" ", Lab.JVM_OPTIONS) + "\" "
                + "mvn -B -o test -Dgroups=kvm -DexcludedGroups=lab -Dsurefire.failIfNoSpecifiedTests=false "
                // The device fuzzing run is no kvm test, and on L1's emulated CPU it took 8 of this test's 11 minutes.
                + "-Dfuzz.skip=true",
                "sh", project.toString(), work.toString()), out, err);
        String log = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8) + crashReports();
        assertEquals(0, code, log);
        assertTrue(log.contains("Nothing to compile"), log);
        assertTrue(log.contains("BUILD SUCCESS"), log);

        Matcher total = TOTAL_LINE.matcher(log);
        assertTrue(total.find(), log);
        int ran = Integer.parseInt(total.group(1));
        assertEquals("0 0 0", total.group(2) + " " + total.group(3) + " " + total.group(4), log);
        Set<String> classes = new TreeSet<>();
        Matcher perClass = CLASS_LINE.matcher(log);
        while (perClass.find()) {
            classes.add(perClass.group(2));
        }
        assertTrue(classes.containsAll(EXPECTED), "inside the lab ran only " + classes + "\n" + log);

        // tools/test prints this at the end, so a CI log says where the kvm tests ran and how many.
        Files.writeString(project.resolve("target/kvm-tests-in-lab.txt"), "kvm-tagged tests inside the nested lab: "
                + ran + " run, 0 failed, 0 skipped, in " + classes.size() + " classes " + classes + "\n");
    }

    /** The head of each JVM crash report written inside the lab, or nothing. */
    private String crashReports() throws IOException {
        StringBuilder text = new StringBuilder();
        try (var files = Files.list(work)) {
            for (Path report : files.filter(f -> f.getFileName().toString().startsWith("hs_err_")).toList()) {
                text.append("\n--- ").append(report.getFileName()).append(" (first lines) ---\n");
                Files.readAllLines(report).stream().limit(40).forEach(line -> text.append(line).append('\n'));
            }
        }
        return text.toString();
    }
}
