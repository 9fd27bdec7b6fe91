package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class BoundedNoticeTest {
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aLineThatCanBeWrittenIsWrittenBeforeTheWaitEnds() {
        AtomicReference<String> said = new AtomicReference<>();
        BoundedNotice.start("test-notice", () -> said.set("stopping")).await();
        assertEquals("stopping", said.get());
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS) // the bound is 2 s: a wait ten times as long fails here
    void aWriteThatNeverEndsDoesNotHoldTheCallerAndLeavesADaemonBehind() throws InterruptedException {
        CountDownLatch never = new CountDownLatch(1); // a stderr nobody reads: the write blocks for good
        AtomicReference<Thread> writer = new AtomicReference<>();
        long start = System.nanoTime();
        BoundedNotice.start("test-blocked-notice", () -> {
            writer.set(Thread.currentThread());
            try {
                never.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }).await(); // returns: a hang here is the @Timeout's failure
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(waitedMillis >= BoundedNotice.WAIT_MILLIS, "it gave the write its time: " + waitedMillis + " ms");
        assertTrue(writer.get().isAlive(), "the write is still blocked");
        assertTrue(writer.get().isDaemon(), "a daemon, which does not keep the JVM from exiting");
        never.countDown();
        writer.get().join();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anInterruptEndsTheWaitAndIsKept() {
        CountDownLatch never = new CountDownLatch(1);
        Thread.currentThread().interrupt();
        try {
            BoundedNotice.start("test-interrupted-notice", () -> {
                try {
                    never.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).await();
            assertTrue(Thread.interrupted(), "the caller's interrupt is kept for it to see");
        } finally {
            never.countDown();
        }
    }
}
