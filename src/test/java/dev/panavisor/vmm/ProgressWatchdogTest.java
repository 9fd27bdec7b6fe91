package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The stall rule on a fake clock and fake counters, then once on its own thread. */
class ProgressWatchdogTest {
    private static final long S = 1_000_000_000L;
    private final AtomicLong exits = new AtomicLong();
    private final AtomicLong cpu = new AtomicLong();
    private final List<String> reports = new ArrayList<>();

    private ProgressWatchdog watchdog(long startNanos) {
        return new ProgressWatchdog(Duration.ofSeconds(120), exits::get, cpu::get, reports::add, () -> startNanos,
                false);
    }

    @Test
    void exits_keep_it_quiet_and_silence_for_the_whole_limit_is_a_stall() {
        ProgressWatchdog w = watchdog(0);
        assertFalse(w.check(100 * S));
        exits.set(5); // progress at 110 s: the silent stretch starts again
        assertFalse(w.check(110 * S));
        assertFalse(w.check(229 * S));
        assertEquals(List.of(), reports);
        cpu.set(100 * S); // the vCPUs burnt 100 s of CPU in the 120 s of silence
        assertTrue(w.check(230 * S));
        assertEquals(List.of("no VM exit and no console output for 120 s; the vCPUs were busy, running without "
                + "getting anywhere (100.0 s of CPU in that time)"), reports);
    }

    @Test
    void an_idle_silence_is_reported_as_waiting() {
        ProgressWatchdog w = watchdog(0);
        cpu.set(S / 10);
        assertTrue(w.check(121 * S));
        assertEquals(List.of("no VM exit and no console output for 121 s; the vCPUs were idle, waiting for something "
                + "(0.1 s of CPU in that time)"), reports);
    }

    @Test
    void on_its_thread_it_reports_once_and_close_stops_it() throws Exception {
        CompletableFuture<String> stalled = new CompletableFuture<>();
        try (ProgressWatchdog w = ProgressWatchdog.start(Duration.ofMillis(200), exits::get, cpu::get,
                stalled::complete)) {
            String what = stalled.get(10, TimeUnit.SECONDS);
            assertTrue(what.startsWith("no VM exit and no console output for 0 s"), what);
        }
    }
}
