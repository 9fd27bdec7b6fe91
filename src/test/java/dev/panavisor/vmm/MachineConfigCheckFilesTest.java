package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.boot.DoesNotFitException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MachineConfig#checkFiles}, the check made before a run goes to the nested lab, measures the command line
 * the run will build: with --timeline (or --jfr) that line also carries the timeline's words, and a line that fits
 * only without them is refused now, not a minute later inside the lab.
 */
class MachineConfigCheckFilesTest {
    @TempDir
    Path dir;

    @Test
    void a_command_line_that_fits_only_without_the_timeline_s_words_is_refused_for_a_timeline_run() {
        Path kernel = SyntheticGuests.write(dir.resolve("k.bzImage"), SyntheticGuests.SERIAL_OK_THEN_RESET);
        int cmdlineSize = 2047; // the synthetic kernel's cmdline_size
        int base = KernelCommandLine.build(config(kernel, "x"), List.of()).length() - 1;
        MachineConfig nearlyFull = config(kernel, "x".repeat(cmdlineSize - base - 10));
        MachineConfig.checkFiles(nearlyFull, true, false);
        DoesNotFitException e = assertThrows(DoesNotFitException.class,
                () -> MachineConfig.checkFiles(nearlyFull, true, true));
        assertTrue(e.getMessage().startsWith("kernel command line is"), e.getMessage());
    }

    private static MachineConfig config(Path kernel, String extra) {
        return new MachineConfig(kernel, Optional.empty(), List.of(), extra, 64L << 20, 1,
                MachineConfig.ConsoleKind.SERIAL, Optional.empty());
    }
}
