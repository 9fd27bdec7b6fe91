package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a test main in a new JVM on this JVM's class path and returns its output (stdout and stderr). */
final class ChildJvm {
    private ChildJvm() {
    }

    static String run(List<String> jvmOptions, Class<?> main, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Path log = Files.createTempFile(main.getSimpleName(), ".out");
        try {
            Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean ended = child.waitFor(3, TimeUnit.MINUTES);
            if (!ended) {
                child.destroyForcibly().waitFor();
            }
            String text = Files.readString(log, StandardCharsets.UTF_8);
            if (!ended) {
                throw new AssertionError(main.getSimpleName() + " did not end within 3 minutes:\n" + text);
            }
            assertEquals(0, child.exitValue(), main.getSimpleName() + " failed:\n" + text);
            return text;
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
