package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RootfsLayoutTest {
    static final byte[] FAKE_BUSYBOX = "not really busybox".getBytes(StandardCharsets.UTF_8);
    static final byte[] INIT = "#!/bin/sh\necho init\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] MARKER = "marker".getBytes(StandardCharsets.UTF_8);
    static final List<String> APPLETS = List.of("bin/sh", "bin/mount", "sbin/reboot", "usr/bin/base64",
            "sbin/init", "bin/busybox");

    static RootfsLayout sample() {
        return RootfsLayout.busyboxSystem(FAKE_BUSYBOX, APPLETS, INIT, MARKER);
    }

    private static Map<String, RootfsLayout.Entry> byPath(RootfsLayout layout) {
        return layout.entries().stream().collect(Collectors.toMap(RootfsLayout.Entry::path, Function.identity()));
    }

    @Test
    void a_busybox_system_has_init_busybox_the_marker_and_one_link_per_applet() {
        Map<String, RootfsLayout.Entry> entries = byPath(sample());
        assertTrue(entries.get("/init") instanceof RootfsLayout.File init && init.permissions() == 0755);
        assertEquals(new RootfsLayout.Symlink("/bin/sh", "/bin/busybox"), entries.get("/bin/sh"));
        assertEquals(new RootfsLayout.Symlink("/usr/bin/base64", "/bin/busybox"), entries.get("/usr/bin/base64"));
        // busybox's own init applet must not replace the link to our /init, nor busybox replace itself.
        assertEquals(new RootfsLayout.Symlink("/sbin/init", "/init"), entries.get("/sbin/init"));
        assertTrue(entries.get("/bin/busybox") instanceof RootfsLayout.File);
        assertTrue(entries.get("/sbin/boot-marker") instanceof RootfsLayout.File);
        assertEquals(new RootfsLayout.CharacterDevice("/dev/console", 0600, 5, 1), entries.get("/dev/console"));
        assertEquals(new RootfsLayout.Directory("/tmp", 01777), entries.get("/tmp"));
    }

    @Test
    void entries_come_in_path_order_with_every_directory_before_its_contents() {
        List<RootfsLayout.Entry> entries = sample().entries();
        List<String> paths = entries.stream().map(RootfsLayout.Entry::path).toList();
        for (int i = 0; i < paths.size(); i++) {
            String path = paths.get(i);
            String parent = path.substring(0, path.lastIndexOf('/'));
            if (!parent.isEmpty()) {
                int at = paths.indexOf(parent);
                assertTrue(at >= 0, parent + ", the folder of " + path + ", is an entry");
                assertTrue(entries.get(at) instanceof RootfsLayout.Directory, parent + " is a directory");
                assertTrue(at < i, parent + " before " + path);
            }
        }
        RootfsLayout reordered = RootfsLayout.busyboxSystem(FAKE_BUSYBOX, APPLETS.reversed(), INIT, MARKER);
        assertEquals(paths, reordered.entries().stream().map(RootfsLayout.Entry::path).toList());
    }

    @Test
    void paths_must_be_absolute_normalized_and_inside_a_known_directory() {
        RootfsLayout layout = new RootfsLayout();
        assertThrows(IllegalArgumentException.class, () -> layout.add(new RootfsLayout.Directory("etc", 0755)));
        assertThrows(IllegalArgumentException.class, () -> layout.add(new RootfsLayout.Directory("/a/../b", 0755)));
        assertThrows(IllegalArgumentException.class,
                () -> layout.add(new RootfsLayout.File("/nodir/file", 0644, new byte[0])));
        layout.add(new RootfsLayout.Directory("/etc", 0755));
        layout.add(new RootfsLayout.File("/etc/file", 0644, new byte[0]));
        assertEquals(2, layout.entries().size());
    }
}
