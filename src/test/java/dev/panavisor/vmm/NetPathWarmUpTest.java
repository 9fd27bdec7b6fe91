package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.ThreadStates;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The network card's frame paths played ahead of the guest, on scratch memory, in a thread begun and joined. */
class NetPathWarmUpTest {
    /**
     * Every round delivers its large segment (43 mergeable buffers) and its small frame and sends both of its own:
     * a round that did less (a frame dropped for a header the driver did not accept, buffers short) is not counted.
     */
    @Test
    void every_round_delivers_and_sends_all_four_frames() {
        assertEquals(NetPathWarmUp.ROUNDS, NetPathWarmUp.play(NetPathWarmUp.ROUNDS, () -> false));
    }

    @Test
    void it_stops_when_told_to() {
        assertEquals(0, NetPathWarmUp.play(10, () -> true));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void the_thread_waits_for_begin_then_plays_every_round() throws Exception {
        PathWarmUp warmUp = new PathWarmUp("net-begin-test", stop -> NetPathWarmUp.play(3, stop));
        warmUp.start();
        // Parked on its begin latch: started, and not playing until begin() (a thread not yet run would also
        // have served nothing).
        ThreadStates.awaitWaitingIn(ThreadStates.named("net-begin-test-warm-up"), Thread.State.WAITING,
                CountDownLatch.class, "await");
        assertEquals(0, warmUp.served());
        warmUp.begin();
        assertTrue(warmUp.awaitEnd(Duration.ofSeconds(30)), "it ends after its rounds");
        assertEquals(3, warmUp.served());
        warmUp.close();
    }

    @Test
    void no_warm_up_without_rounds_or_under_a_flight_recording() {
        assertTrue(PathWarmUp.wanted(NetPathWarmUp.ROUNDS, false));
        assertEquals(false, PathWarmUp.wanted(0, false));
        assertEquals(false, PathWarmUp.wanted(NetPathWarmUp.ROUNDS, true));
    }
}
