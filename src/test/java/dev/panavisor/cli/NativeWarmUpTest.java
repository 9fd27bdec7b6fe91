package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The FFM warm-up beside picocli: on any host (a usable /dev/kvm, a tiny-guests-only one, none at all) it ends on
 * its own without an error escaping, and await() returns once it has; the run's own checks then say what is wrong.
 */
class NativeWarmUpTest {
    @Test
    void it_ends_quietly_on_this_host_and_await_waits_for_it() {
        NativeWarmUp.start();
        assertTimeoutPreemptively(Duration.ofSeconds(60), NativeWarmUp::await);
        assertTimeoutPreemptively(Duration.ofSeconds(5), NativeWarmUp::await, "a second await returns at once");
    }
}
