package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.spi.ToolProvider;

/**
 * Panavisor started as users start it, for tests, which run from target/classes: a jar of the compiled classes,
 * and the java command with {@code jvm.options} (plus, in the lab, its JIT options). Only a JVM started from a jar
 * can use an AOT cache, and with one the JVM takes some paths later, under the seccomp filter (docs/security.md).
 */
public final class UserJvm {
    private UserJvm() {
    }

    /** A jar of the compiled classes in {@code dir}, with picocli on its manifest class path. */
    public static Path jar(Path dir) throws IOException {
        Path classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        String picocli = Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(entry -> entry.contains("picocli")).findFirst().orElseThrow();
        Path manifest = Files.writeString(dir.resolve("MANIFEST.MF"),
                "Main-Class: dev.panavisor.cli.Main\nClass-Path: " + Path.of(picocli).toUri() + "\n");
        Path jar = dir.resolve("panavisor.jar");
        Files.deleteIfExists(jar);
        int status = ToolProvider.findFirst("jar").orElseThrow().run(System.out, System.err, "--create",
                "--file", jar.toString(), "--manifest", manifest.toString(), "-C", classes.toString(), ".");
        assertEquals(0, status);
        return jar;
    }

    /** This JVM's java binary with the options of {@code jvm.options}, and the lab's when {@code inLab}. */
    public static List<String> java(boolean inLab) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(JavaCommand.sharedOptions());
        if (inLab) {
            command.addAll(dev.panavisor.lab.Lab.JVM_OPTIONS);
        }
        return command;
    }
}
