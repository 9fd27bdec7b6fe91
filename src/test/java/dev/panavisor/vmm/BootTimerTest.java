package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
