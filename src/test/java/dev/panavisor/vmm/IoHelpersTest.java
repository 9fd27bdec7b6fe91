package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class IoHelpersTest {
    @Test
    void helpers_are_started_at_once_run_work_side_by_side_and_are_joined_by_close() throws Exception {
        IoHelpers helpers = new IoHelpers("device-test", 2);
        assertEquals(2, helpers.liveThreads(), "started as the VM is built, before any seccomp filter");
        CountDownLatch both = new CountDownLatch(2);
        Set<String> names = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < 2; i++) {
            helpers.execute(() -> {
                names.add(Thread.currentThread().getName());
                both.countDown();
                try {
                    both.await(); // each waits for the other: only two threads at once get past this
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        assertTrue(both.await(10, TimeUnit.SECONDS), "the two tasks did not run side by side");
        helpers.close();
        assertEquals(0, helpers.liveThreads(), "close() joins every helper");
        assertEquals(Set.of("device-test-io-1", "device-test-io-2"), names);
        assertThrows(RejectedExecutionException.class, () -> helpers.execute(() -> { }));
    }

    @Test
    void the_count_is_one_to_three_by_default_and_the_property_overrides_it() {
        String before = System.getProperty(IoHelpers.COUNT_PROPERTY);
        try {
            System.clearProperty(IoHelpers.COUNT_PROPERTY);
            int count = IoHelpers.count();
            assertTrue(count >= 1 && count <= 3, "default " + count);
            assertEquals(Math.max(1, Math.min(3, Runtime.getRuntime().availableProcessors() - 1)), count);
            System.setProperty(IoHelpers.COUNT_PROPERTY, "0");
            assertEquals(0, IoHelpers.count(), "0 turns the helpers off");
        } finally {
            if (before == null) {
                System.clearProperty(IoHelpers.COUNT_PROPERTY);
            } else {
                System.setProperty(IoHelpers.COUNT_PROPERTY, before);
            }
        }
    }
}
