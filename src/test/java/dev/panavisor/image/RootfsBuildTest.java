package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.StaticElf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Needs gcc (the boot marker is compiled from guest-images/boot-marker.c). */
class RootfsBuildTest {
    @TempDir
    Path temp;

    @Test
    void the_boot_marker_is_a_small_static_program_and_compiles_reproducibly() throws IOException {
        RootfsBuild build = new RootfsBuild(ImageSources.bundled(), line -> { });
        byte[] first = build.compileBootMarker(Files.createDirectories(temp.resolve("a")));
        byte[] second = build.compileBootMarker(Files.createDirectories(temp.resolve("b")));
        assertArrayEquals(first, second);
        assertTrue(StaticElf.isStatic(first));
        assertTrue(first.length < 16 * 1024, first.length + " bytes");
    }

    @Test
    void the_rootfs_key_changes_with_init_and_busybox() {
        ImageSources sources = ImageSources.bundled();
        ImageSources edited = new ImageSources(sources.kernelFragment(), "#!/bin/sh\n".getBytes(),
                sources.bootMarkerSource(), "edited");
        RootfsBuild.Inputs inputs = new RootfsBuild.Inputs(new byte[] {1}, "12.2.0");
        String name = new RootfsBuild(sources, line -> { }).key(inputs).name();
        assertTrue(name.startsWith("rootfs-"));
        assertTrue(name.equals(new RootfsBuild(sources, line -> { }).key(inputs).name()));
        assertFalse(name.equals(new RootfsBuild(edited, line -> { }).key(inputs).name()));
        assertFalse(name.equals(new RootfsBuild(sources, line -> { })
                .key(new RootfsBuild.Inputs(new byte[] {2}, "12.2.0")).name()));
    }
}
