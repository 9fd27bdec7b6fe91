package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class JoinsTest {
    /**
     * The VM's close passes through the input devices' locks before it unmaps guest memory: a thread that checked
     * "closed" under one of them and is still writing (typed keys into the virtio console's buffers) is waited for.
     */
    @Test
    void passing_through_waits_for_whoever_holds_a_lock() throws Exception {
        Object console = new Object();
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread typist = Thread.ofPlatform().start(() -> {
            synchronized (console) {
                holding.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        assertTrue(holding.await(30, TimeUnit.SECONDS));
        Thread passing = Thread.ofPlatform().start(() -> Joins.passThrough(null, console));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (passing.getState() != Thread.State.BLOCKED) { // at the console's monitor, held by the typist
            assertTrue(passing.isAlive(), "passed through while the typist still wrote under the lock");
            assertTrue(System.nanoTime() < deadline, "never reached the lock");
            Thread.onSpinWait();
        }
        release.countDown();
        passing.join(30_000);
        assertFalse(passing.isAlive());
        typist.join();
    }
}
