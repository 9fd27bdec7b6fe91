package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciBundleTest {
    @TempDir
    Path dir;

    @Test
    void the_bundle_runs_the_command_on_a_read_only_root_with_its_own_namespaces() throws Exception {
        Path rootfs = dir.resolve("rootfs");
        Path config = OciBundle.write(dir.resolve("bundle"), rootfs, dir.resolve("scratch"),
                List.of("/bin/sh", "-c", "echo cmp-ready"), null);
        JsonNode json = new ObjectMapper().readTree(config.toFile());
        assertEquals("1.0.2", json.get("ociVersion").asText());
        assertEquals("/bin/sh", json.at("/process/args/0").asText());
        assertEquals("echo cmp-ready", json.at("/process/args/2").asText());
        assertFalse(json.at("/process/terminal").asBoolean());
        assertEquals(rootfs.toString(), json.at("/root/path").asText());
        assertTrue(json.at("/root/readonly").asBoolean());
        List<String> namespaces = new ArrayList<>();
        json.at("/linux/namespaces").forEach(n -> namespaces.add(n.get("type").asText()));
        assertEquals(List.of("pid", "ipc", "uts", "mount", "network"), namespaces);
        assertTrue(json.at("/process/noNewPrivileges").asBoolean());
        assertTrue(json.at("/linux/namespaces/4/path").isMissingNode(), "a new network namespace");
    }

    @Test
    void the_network_workload_joins_an_existing_namespace_by_its_path() {
        var config = OciBundle.config(dir.resolve("rootfs"), dir.resolve("scratch"), List.of("true"),
                "/run/netns/pvcmp-net");
        assertEquals("network", config.at("/linux/namespaces/4/type").asText());
        assertEquals("/run/netns/pvcmp-net", config.at("/linux/namespaces/4/path").asText());
        assertEquals(5, config.at("/linux/namespaces").size(), "the other namespaces are still new");
    }

    @Test
    void scratch_is_the_only_writable_bind_mount_and_proc_is_fresh() {
        var config = OciBundle.config(dir.resolve("rootfs"), dir.resolve("scratch"), List.of("true"), null);
        List<JsonNode> binds = new ArrayList<>();
        config.get("mounts").forEach(m -> {
            if (m.get("type").asText().equals("bind")) {
                binds.add(m);
            }
        });
        assertEquals(1, binds.size());
        assertEquals(OciBundle.SCRATCH, binds.getFirst().get("destination").asText());
        assertEquals(dir.resolve("scratch").toString(), binds.getFirst().get("source").asText());
        assertTrue(config.get("mounts").findValuesAsText("destination").contains("/proc"));
        assertEquals(1024, config.at("/process/rlimits/0/hard").asInt());
    }
}
