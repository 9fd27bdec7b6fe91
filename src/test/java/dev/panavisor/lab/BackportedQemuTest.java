package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which QEMU the lab gets when the weekly check for a newer backport cannot be made (no apt, no network). */
class BackportedQemuTest {
    private static final BackportedQemu.VersionCheck OFFLINE = () -> {
        throw new IOException("apt-get update of bookworm-backports failed: Temporary failure resolving "
                + "'deb.debian.org'");
    };

    @Test
    void a_cached_backport_is_used_when_the_check_for_a_newer_one_fails(@TempDir Path cache) throws IOException {
        Path entry = Files.createDirectories(cache.resolve("qemu/1_10.0.2+ds-1~bpo12+1"));
        Path complete = Files.writeString(entry.resolve("complete"), "1:10.0.2+ds-1~bpo12+1\n");
        Files.setLastModifiedTime(complete, FileTime.from(Instant.now().minus(Duration.ofDays(30))));
        List<String> said = new ArrayList<>();

        Optional<BackportedQemu.Unpacked> found = new BackportedQemu(cache, said::add, OFFLINE).find();

        assertTrue(found.isPresent(), "the host's QEMU 7.2 instead of the cached backport: " + said);
        assertEquals("1:10.0.2+ds-1~bpo12+1", found.get().version());
        assertEquals(entry.resolve("root/usr/bin/qemu-system-x86_64"), found.get().binary());
        assertEquals(List.of("cannot get a newer QEMU from bookworm-backports (apt-get update of bookworm-backports "
                + "failed: Temporary failure resolving 'deb.debian.org'); using QEMU 1:10.0.2+ds-1~bpo12+1 from the "
                + "cache"), said);
    }

    @Test
    void without_a_cached_backport_a_failed_check_means_the_hosts_qemu(@TempDir Path cache) {
        List<String> said = new ArrayList<>();

        Optional<BackportedQemu.Unpacked> found = new BackportedQemu(cache, said::add, OFFLINE).find();

        assertTrue(found.isEmpty());
        assertEquals(List.of("cannot use QEMU from bookworm-backports (apt-get update of bookworm-backports failed: "
                + "Temporary failure resolving 'deb.debian.org'); using the host's QEMU"), said);
    }

    @Test
    void a_backport_checked_this_week_is_used_without_asking_apt(@TempDir Path cache) throws IOException {
        Path entry = Files.createDirectories(cache.resolve("qemu/10"));
        Files.writeString(entry.resolve("complete"), "10\n");
        BackportedQemu.VersionCheck never = () -> {
            throw new AssertionError("apt asked within the week");
        };
        List<String> said = new ArrayList<>();

        Optional<BackportedQemu.Unpacked> found = new BackportedQemu(cache, said::add, never).find();

        assertEquals("10", found.orElseThrow().version());
        assertEquals(List.of(), said);
    }
}
