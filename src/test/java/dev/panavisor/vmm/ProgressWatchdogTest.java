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
        assertEquals(List.of("no VM exit and no console output for 120 s; the vCPUs were busy but did no I/O "
                + "(spinning, or a command that only computes) (100.0 s of CPU in that time)"), reports);
    }

    @Test
    void an_idle_silence_is_reported_as_waiting() {
        ProgressWatchdog w = watchdog(0);
        cpu.set(S / 10);
        assertTrue(w.check(121 * S));
        assertEquals(List.of("no VM exit and no console output for 121 s; the vCPUs were idle (waiting for an "
                + "interrupt, or a command that only sleeps) (0.1 s of CPU in that time)"), reports);
    }

    @Test
    void on_its_thread_it_reports_once_and_then_stops_watching() throws Exception {
        CompletableFuture<String> stalled = new CompletableFuture<>();
        AtomicLong looks = new AtomicLong();
        List<String> all = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ProgressWatchdog w = ProgressWatchdog.start(Duration.ofMillis(200), () -> {
            looks.incrementAndGet();
            return exits.get();
        }, cpu::get, what -> {
            all.add(what);
            stalled.complete(what);
        })) {
            String what = stalled.get(10, TimeUnit.SECONDS);
            assertTrue(what.startsWith("no VM exit and no console output for 0 s"), what);
            long after = looks.get();
            Thread.sleep(300); // 30 periods: a watchdog still running would look again and report again
            assertEquals(after, looks.get());
            assertEquals(1, all.size());
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void close_stops_a_watchdog_that_has_not_fired() throws Exception {
        AtomicLong looks = new AtomicLong();
        // 200 ms: a look every 10 ms, and progress at every look, so it never fires.
        ProgressWatchdog w = ProgressWatchdog.start(Duration.ofMillis(200), looks::incrementAndGet, cpu::get,
                reports::add);
        while (looks.get() < 3) { // it is watching
            Thread.sleep(5);
        }
        w.close();
        w.thread().join(); // the thread ends: a close that did nothing fails the test by its timeout
        long after = looks.get();
        assertEquals(after, looks.get());
        assertEquals(List.of(), reports);
    }

    /**
     * The stall note reads KVM's coalesced ring, which the VM's close unmaps right after closing the watchdog: close
     * returns only once the watching thread, in the middle of its note here, has ended.
     */
    @Test
    void close_returns_only_after_the_watching_thread_has_ended() throws Exception {
        java.util.concurrent.CountDownLatch noting = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        ProgressWatchdog w = ProgressWatchdog.start(Duration.ofMillis(50), exits::get, cpu::get, what -> {
            noting.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                // close's interrupt: the note goes on, as a read of the ring would
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException again) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        assertTrue(noting.await(30, TimeUnit.SECONDS), "the stall was seen");
        Thread closing = Thread.ofPlatform().start(w::close);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (closing.getState() != Thread.State.WAITING) { // in its join of the watching thread
            assertTrue(closing.isAlive(), "close returned while the note was being made");
            assertTrue(System.nanoTime() < deadline, "close never waited");
            Thread.onSpinWait();
        }
        release.countDown();
        closing.join(30_000);
        assertFalse(closing.isAlive());
        assertFalse(w.thread().isAlive());
    }
}
