package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

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
    void an_action_waits_for_the_marker_and_runs_only_if_it_came_before_the_end() throws Exception {
        BootTimer timer = new BootTimer(System.nanoTime());
        CompletableFuture<String> end = new CompletableFuture<>();
        AtomicInteger ran = new AtomicInteger();
        Thread waiter = Thread.ofPlatform().start(() -> timer.afterMarkerUnless(end, ran::incrementAndGet));
        Thread.sleep(100);
        assertTrue(waiter.isAlive(), "waits for the marker");
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
        while (other.getState() != Thread.State.WAITING) { // waiting for the marker or the end
            Thread.onSpinWait();
        }
        failed.completeExceptionally(new IllegalStateException("the VM failed"));
        other.join(10_000);
        assertTrue(!other.isAlive(), "the end, even a failed one, ends the wait");
        assertEquals(2, ran.get());
    }
}
