package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.ThreadStates;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class BootTimerTest {
    @Test
    void the_first_marker_is_timed_and_tells_each_listener_once() {
        BootTimer timer = new BootTimer(System.nanoTime());
        AtomicInteger told = new AtomicInteger();
        timer.onMarker(told::incrementAndGet);
        timer.write(0, 1, 7); // not the marker
        assertEquals(-1, timer.bootNanos());
        assertEquals(0, told.get());
        timer.write(0, 1, BootTimer.MARKER);
        assertTrue(timer.bootNanos() >= 0);
        assertEquals(1, told.get());
        timer.write(0, 1, BootTimer.MARKER);
        assertEquals(1, told.get(), "a second marker changes nothing");
    }

    /** The VMM's main thread gives start-up's memory back at the marker (Machine.run): before the end, only then. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void an_action_waits_for_the_marker_and_runs_only_if_it_came_before_the_end() throws Exception {
        BootTimer timer = new BootTimer(System.nanoTime());
        CompletableFuture<String> end = new CompletableFuture<>();
        AtomicInteger ran = new AtomicInteger();
        Thread waiter = Thread.ofPlatform().start(() -> timer.afterMarkerUnless(end, ran::incrementAndGet));
        // Parked in afterMarkerUnless (its only untimed wait is the join on the marker or the end) before the
        // marker comes: the marker then wakes a waiting thread, rather than being found at the call.
        ThreadStates.awaitWaitingIn(waiter, Thread.State.WAITING, BootTimer.class, "afterMarkerUnless");
        assertEquals(0, ran.get(), "not before the marker");
        timer.write(0, 1, BootTimer.MARKER);
        waiter.join(10_000);
        assertEquals(1, ran.get());

        timer.afterMarkerUnless(end, ran::incrementAndGet); // the marker came before the call: runs at once
        assertEquals(2, ran.get());
        end.complete("ended");
        timer.afterMarkerUnless(end, ran::incrementAndGet);
        assertEquals(2, ran.get(), "not once the VM has ended");

        BootTimer silent = new BootTimer(System.nanoTime()); // a guest whose init writes no marker
        CompletableFuture<String> failed = new CompletableFuture<>();
        Thread other = Thread.ofPlatform().start(() -> silent.afterMarkerUnless(failed, ran::incrementAndGet));
        ThreadStates.awaitWaitingIn(other, Thread.State.WAITING, BootTimer.class, "afterMarkerUnless");
        failed.completeExceptionally(new IllegalStateException("the VM failed"));
        other.join(10_000);
        assertTrue(!other.isAlive(), "the end, even a failed one, ends the wait");
        assertEquals(2, ran.get());
    }
}
