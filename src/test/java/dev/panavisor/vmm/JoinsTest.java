package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
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
        CompletableFuture<Void> passing = CompletableFuture.runAsync(() -> Joins.passThrough(null, console));
        Thread.sleep(200);
        assertFalse(passing.isDone(), "the typist still writes under the lock");
        release.countDown();
        passing.get(30, TimeUnit.SECONDS);
        typist.join();
    }
}
