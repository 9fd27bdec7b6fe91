package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the JVM does lazily after {@code panavisor run} confined it still works under the filter: resolving a path
 * (as loading a native library does), reading the run-time image, the System.Logger lookup that
 * {@code Runtime.exit} makes, the platform MBean server behind {@code run --stats}. Found in the lab: with the AOT
 * cache every run ended with "Runtime.exit(0) logging failed: no jimage in system library path" on stderr, and
 * {@code --stats} with an UnsatisfiedLinkError, because {@code readlink} was refused. Needs no KVM.
 */
class ConfinedJvmTest {
    @Test
    void the_jvms_lazy_paths_work_under_the_filter_and_exit_prints_nothing() throws Exception {
        String output = ChildJvm.run(List.of("-XX:+UseSerialGC"), ConfinedJvmMain.class);
        for (String line : List.of("seccomp-mode 2", "canonical-path ok", "library-resource ok", "system-logger ok",
                "mbean-server ok")) {
            assertTrue(output.lines().anyMatch(line::equals), "no '" + line + "' in:\n" + output);
        }
        assertFalse(output.contains("failed"), output);
    }
}
