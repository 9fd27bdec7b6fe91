package dev.panavisor.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.FileTree;
import dev.panavisor.image.GuestImages;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One nested-lab session that runs a scenario script (a test resource) against the default guest: each scenario is a
 * {@code panavisor run} that leaves files in the work directory, which the test's methods then check one concern at a
 * time. A lab session costs tens of seconds, so a test class batches its scenarios into one.
 *
 * <p>The script sees PANAVISOR (this test JVM's class path as a {@code panavisor} command, with the lab's JIT option),
 * WORK, BZIMAGE, VMLINUX, INITRD, ROOTFS and the caller's variables, and must end by printing "all scenarios ran".
 */
public final class LabScenarios {
    private LabScenarios() {
    }

    /** Runs {@code script} (a resource next to {@code owner}) in the lab; returns its work directory. */
    public static Path run(Class<?> owner, String script, String name, Duration timeout, Map<String, String> variables)
            throws IOException {
        return run(owner, List.of(script), name, timeout, variables);
    }

    /**
     * As above, for a main script (the first) that sources the others: all are copied into the work directory, so
     * the main one finds them beside itself ({@code $(dirname "$0")}).
     */
    public static Path run(Class<?> owner, List<String> scripts, String name, Duration timeout,
            Map<String, String> variables) throws IOException {
        Requires.lab();
        GuestImages.GuestImage guest = GuestImages.forUser(line -> System.err.println("images: " + line)).guest();
        Path work = Path.of("target", "lab-tests", name).toAbsolutePath();
        FileTree.delete(work);
        Files.createDirectories(work);
        Path copy = work.resolve("scenarios.sh");
        for (String script : scripts) {
            try (var in = owner.getResourceAsStream(script)) {
                Files.write(script.equals(scripts.getFirst()) ? copy : work.resolve(script), in.readAllBytes());
            }
        }
        String java = ProcessHandle.current().info().command().orElseThrow();
        LabConfig config = LabConfig.defaults().withTimeout(timeout).withWritable(work)
                .withVariable("PANAVISOR", java + " --enable-native-access=ALL-UNNAMED " + String.join(" ", Lab.JVM_OPTIONS) + " -cp "
                        + System.getProperty("java.class.path") + " dev.panavisor.cli.Main")
                .withVariable("WORK", work.toString())
                .withVariable("BZIMAGE", guest.kernel().bzImage().toString())
                .withVariable("VMLINUX", guest.kernel().vmlinux().toString())
                .withVariable("INITRD", guest.rootfs().initramfs().toString())
                .withVariable("ROOTFS", guest.rootfs().ext4().toString());
        for (var variable : variables.entrySet()) {
            config = config.withVariable(variable.getKey(), variable.getValue());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        // The script's output also goes to a file as it arrives, so a lab that times out or stalls leaves behind how
        // far the script got (its "scenario ..." lines), which the exception alone does not say.
        try (OutputStream log = Files.newOutputStream(work.resolve("scenarios.log"));
                OutputStream both = new TeeOutputStream(out, log)) {
            code = Lab.run(config, List.of("sh", "-c", "echo 'lab scenarios: the script starts'; exec sh \"$0\"",
                    copy.toString()), both, both);
        }
        String labOutput = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, "the scenario script itself failed:\n" + labOutput);
        assertTrue(labOutput.contains("all scenarios ran"), "the script stopped early:\n" + labOutput);
        return work;
    }

    /** Writes each byte to both streams, flushing the second at once (a file someone may read mid-run). */
    private static final class TeeOutputStream extends OutputStream {
        private final OutputStream first;
        private final OutputStream second;

        TeeOutputStream(OutputStream first, OutputStream second) {
            this.first = first;
            this.second = second;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            first.write(b);
            second.write(b);
            second.flush();
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
            first.write(bytes, offset, length);
            second.write(bytes, offset, length);
            second.flush();
        }
    }
}
