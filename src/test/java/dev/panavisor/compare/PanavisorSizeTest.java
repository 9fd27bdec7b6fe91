package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.ExitCleanupFixture;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Panavisor's size row says whether its instances ran with an AOT cache, and counts the cache's bytes only when they
 * did: a run measured without one (a stale cache is not used) must not be reported as if it had one.
 */
class PanavisorSizeTest {
    private static Results.Size sizeWith(Path dir, List<String> javaCommand) throws Exception {
        CompareRun.Images images = new CompareRun.Images(Files.write(dir.resolve("bzImage"), new byte[700]),
                Files.write(dir.resolve("initramfs"), new byte[300]), dir.resolve("rootfs.ext4"),
                dir.resolve("io-load"));
        Results.Settings settings = new Results.Settings(true, 1, 1, 1, 1L << 30, 1000, 1, 1, 1, 1000, 256, 1);
        return new CompareRun(images, settings, javaCommand, new PrintWriter(new StringWriter()),
                ExitCleanupFixture.withoutHook())
                .size(Peer.PANAVISOR, dir);
    }

    @Test
    void without_an_aot_cache_the_row_says_so(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("panavisor.jar"), new byte[5000]);
        Path cache = Files.write(dir.resolve("panavisor.aot"), new byte[70_000]); // on disk, used or not
        Results.Size size = sizeWith(dir, List.of("java", "-cp", jar.toString(), "dev.panavisor.cli.Main"));
        assertEquals(1000, size.image(), "bzImage + initramfs");
        assertTrue(size.runtimeWhat().contains("no AOT cache: its instances ran without"), size.runtimeWhat());
        Results.Size withCache = sizeWith(dir, List.of("java", "-XX:AOTCache=" + cache, "-cp", jar.toString(),
                "dev.panavisor.cli.Main"));
        assertTrue(withCache.runtimeWhat().endsWith(" + AOT cache"), withCache.runtimeWhat());
        assertEquals(70_000, withCache.runtime() - size.runtime(), "the cache's bytes, counted only when used");
    }
}
