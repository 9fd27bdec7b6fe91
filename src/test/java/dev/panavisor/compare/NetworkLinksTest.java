package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.ExitCleanup;
import dev.panavisor.host.ExitCleanupFixture;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The network links' set-up and removal, with a stand-in {@code ip} that logs its arguments (and answers "is it
 * there?" from files the test makes) and a stand-in busybox whose "httpd" notes its pid and waits: no root, no
 * real TAP or namespace.
 */
class NetworkLinksTest {
    @TempDir
    Path dir;

    private Path log;
    private Path servers;

    private Path fakeIp() throws IOException {
        log = dir.resolve("ip.log");
        return script("ip", "echo \"$*\" >> " + log + "\n"
                + "case \"$*\" in\n"
                + "  'netns list') [ -e " + dir.resolve("netns") + " ] && cat " + dir.resolve("netns") + "; exit 0;;\n"
                + "  'link show dev '*) [ -e " + dir + "/link-$4 ] && exit 0;"
                + " echo \"Device \\\"$4\\\" does not exist.\" >&2; exit 1;;\n"
                + "esac\n");
    }

    private Path fakeBusybox() throws IOException {
        servers = dir.resolve("servers");
        return script("busybox", "echo $$ >> " + servers + "\nexec sleep 1000000\n");
    }

    private Path script(String name, String body) throws IOException {
        Path file = Files.writeString(dir.resolve(name), "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    private List<String> calls() throws IOException {
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    private List<Long> serverPids() throws IOException {
        return servers != null && Files.exists(servers)
                ? Files.readAllLines(servers).stream().map(Long::parseLong).toList() : List.of();
    }

    @AfterEach
    void killServers() throws IOException {
        serverPids().forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    private NetworkLinks setUp(ExitCleanup cleanup, StringWriter progress) throws Exception {
        return NetworkLinks.setUp(fakeIp().toString(), fakeBusybox(), dir, 1, new PrintWriter(progress, true),
                cleanup);
    }

    private void assertRemoved() throws IOException {
        List<String> calls = calls();
        assertEquals(1, calls.stream().filter("link del pvcmp-tap"::equals).count(), calls.toString());
        assertEquals(1, calls.stream().filter("netns del pvcmp-net"::equals).count(), calls.toString());
        assertEquals(2, serverPids().size());
        for (long pid : serverPids()) {
            assertFalse(StartedInstanceTest.alive(pid), "server " + pid + " stopped");
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void the_links_are_made_and_removed_with_their_servers() throws Exception {
        StringWriter progress = new StringWriter();
        NetworkLinks links = setUp(ExitCleanupFixture.withoutHook(), progress);
        assertTrue(links.ready(), progress.toString());
        List<String> calls = calls();
        assertTrue(calls.contains("tuntap add pvcmp-tap mode tap") && calls.contains("netns add pvcmp-net"),
                calls.toString());
        for (long pid : serverPids()) {
            assertTrue(StartedInstanceTest.alive(pid), "server " + pid + " serves");
        }
        links.close();
        assertRemoved();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_stopped_run_removes_them_through_its_exit_cleanup() throws Exception {
        ExitCleanup cleanup = ExitCleanupFixture.withoutHook();
        NetworkLinks links = setUp(cleanup, new StringWriter());
        assertTrue(links.ready());
        ExitCleanupFixture.playExit(cleanup); // what the JVM's shutdown hook does on SIGTERM or Ctrl-C
        assertRemoved();
        links.close(); // the main thread's own close, which comes on as the hook runs, finds nothing left
        assertRemoved();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void links_an_earlier_run_left_are_named_with_how_to_delete_them_and_not_touched() throws Exception {
        Files.writeString(dir.resolve("netns"), "pvcmp-net (id: 0)\nother\n");
        Files.createFile(dir.resolve("link-pvcmp-tap"));
        StringWriter progress = new StringWriter();
        NetworkLinks links = setUp(ExitCleanupFixture.withoutHook(), progress);
        assertFalse(links.ready());
        assertTrue(links.why().endsWith("delete them with 'ip netns del pvcmp-net; ip link del pvcmp-tap'"),
                links.why());
        assertEquals(List.of("network rows: not measured: " + links.why()), progress.toString().lines().toList());
        List<String> calls = calls();
        assertTrue(calls.stream().noneMatch(c -> c.contains(" add ") || c.contains(" del ")),
                "nothing made, nothing deleted: " + calls);
        assertEquals(List.of(), serverPids(), "no server started");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_veth_left_without_its_namespace_is_named_too() throws Exception {
        Files.createFile(dir.resolve("link-pvcmp-veth"));
        NetworkLinks links = setUp(ExitCleanupFixture.withoutHook(), new StringWriter());
        assertFalse(links.ready());
        assertTrue(links.why().endsWith("delete them with 'ip link del pvcmp-veth'"), links.why());
    }
}
