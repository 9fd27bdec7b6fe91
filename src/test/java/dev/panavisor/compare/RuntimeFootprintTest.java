package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Panavisor's runtime footprint counts its jar and the libraries the jar's Class-Path names, nothing else. */
class RuntimeFootprintTest {
    @Test
    void the_jar_and_the_libraries_on_its_class_path(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("lib"));
        Files.write(dir.resolve("lib/a.jar"), new byte[1000]);
        Files.write(dir.resolve("lib/b.jar"), new byte[300]);
        Files.write(dir.resolve("lib/stale-1.0.jar"), new byte[5000]); // left by an older build: not on it
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, "lib/a.jar lib/b.jar");
        Path jar = dir.resolve("panavisor.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream unused = new JarOutputStream(out, manifest)) {
            // the manifest alone
        }
        assertEquals(Files.size(jar) + 1300, CompareRun.jarAndLibraries(jar));
    }

    @Test
    void a_jar_without_a_class_path_or_no_jar_at_all(@TempDir Path dir) throws Exception {
        Path jar = dir.resolve("plain.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream unused = new JarOutputStream(out)) {
            // no manifest
        }
        assertEquals(Files.size(jar), CompareRun.jarAndLibraries(jar));
        Path notAJar = Files.write(dir.resolve("text.jar"), new byte[42]);
        assertEquals(42, CompareRun.jarAndLibraries(notAJar));
    }
}
