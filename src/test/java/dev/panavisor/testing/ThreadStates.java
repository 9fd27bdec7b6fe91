package dev.panavisor.testing;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assertions;

/**
 * Waits, without a time bound of its own, until another thread is parked in a given method: a test that checks "it
 * waits for X" then knows the thread really got to its wait before the test does X, instead of hoping a sleep was
 * long enough (a thread not yet started looks just like one that waits). The caller's {@code @Timeout} bounds the
 * wait: a thread that never gets there fails the test that way.
 */
public final class ThreadStates {
    private ThreadStates() {
    }

    /**
     * Returns once {@code thread} is in {@code state} (WAITING or TIMED_WAITING) with {@code owner.method} on its
     * stack; fails at once if the thread ends first. The stack is read before the state: a thread seen inside the
     * method and then waiting is waiting there, as long as the method has one wait of that kind, which is what the
     * callers check.
     */
    public static void awaitWaitingIn(Thread thread, Thread.State state, Class<?> owner, String method)
            throws InterruptedException {
        while (true) {
            boolean inMethod = Arrays.stream(thread.getStackTrace())
                    .anyMatch(frame -> frame.getClassName().equals(owner.getName())
                            && frame.getMethodName().equals(method));
            Thread.State now = thread.getState();
            if (now == Thread.State.TERMINATED) {
                Assertions.fail(thread.getName() + " ended before it waited in " + owner.getSimpleName() + "."
                        + method);
            }
            if (inMethod && now == state) {
                return;
            }
            Thread.sleep(1);
        }
    }

    /** The one live thread called {@code name} (started by code that does not hand out its threads). */
    public static Thread named(String name) {
        List<Thread> found = Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.getName().equals(name)).toList();
        Assertions.assertEquals(1, found.size(), "live threads called " + name + ": " + found);
        return found.getFirst();
    }
}
