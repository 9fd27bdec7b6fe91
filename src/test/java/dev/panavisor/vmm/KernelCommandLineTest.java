package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KernelCommandLineTest {
    private static final MachineConfig CONFIG = new MachineConfig(Path.of("/k"), Optional.of(Path.of("/i")), List.of(),
            "loglevel=3", MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, Optional.empty());

    @Test
    void without_a_timeline_the_kernel_stays_quiet_and_untimed() {
        String line = KernelCommandLine.build(CONFIG, List.of());
        assertEquals(line, KernelCommandLine.build(CONFIG, List.of(), false));
        assertTrue(line.contains(" quiet "), line);
        assertFalse(line.contains("printk.time"), line);
        assertEquals(line.indexOf("loglevel="), line.indexOf("loglevel=3"), "only the user's own loglevel: " + line);
    }

    @Test
    void a_timeline_asks_for_timestamps_and_informational_messages_after_quiet_and_before_the_users_words() {
        List<String> words = List.of(KernelCommandLine.build(CONFIG, List.of(), true).split(" "));
        int quiet = words.indexOf("quiet");
        int loglevel = words.indexOf("loglevel=7");
        assertTrue(words.contains("printk.time=1"), words.toString());
        assertTrue(quiet >= 0 && loglevel > quiet, "loglevel=7 must follow quiet to override it: " + words);
        assertEquals("loglevel=3", words.getLast(), "the user's --cmdline still has the last word");
    }
}
