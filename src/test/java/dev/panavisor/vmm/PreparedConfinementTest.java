package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An unconfined run's confinement step ({@link Confinement#prepare}) loads every class of Panavisor's that a confined
 * run's ({@link Confinement#install}) does. The AOT cache's training run is unconfined, so a class that only
 * installing loads would be missing from the cache, and every confined run would load it from the jar, reading the
 * jar's whole directory of entries while its guest boots (docs/performance.md, "A jar of Panavisor's own classes").
 */
class PreparedConfinementTest {
    @Test
    void installing_after_preparing_loads_no_class_of_panavisor() throws Exception {
        String output = ChildJvm.run(List.of("-XX:+UseSerialGC", "-Xlog:class+load=info:stdout"),
                PreparedConfinementMain.class);

        List<String> lines = output.lines().toList();
        int prepared = lines.indexOf(PreparedConfinementMain.PREPARED);
        assertTrue(prepared > 0, "no '" + PreparedConfinementMain.PREPARED + "' line in:\n" + output);
        assertTrue(lines.contains("seccomp-mode 2"), "the child did not confine itself:\n" + output);
        // What preparing is for: the classes of the install step, loaded before it.
        for (String name : List.of("dev.panavisor.sys.Seccomp ", "dev.panavisor.sys.Libc$Confinement ")) {
            assertTrue(lines.subList(0, prepared).stream().anyMatch(l -> l.contains(name)),
                    name.strip() + " was not loaded by preparing:\n" + output);
        }
        List<String> loadedByInstalling = lines.subList(prepared, lines.size()).stream()
                .filter(l -> l.contains("[class,load] dev.panavisor.")).toList();
        assertEquals(List.of(), loadedByInstalling, "classes only a confined run loads");
    }
}
