package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The eventfd a device worker waits on and KVM signals, on the real kernel (no KVM needed). */
class EventFdTest {
    /** read(2)'s system call number on x86-64, as /proc/PID/task/TID/syscall shows it. */
    private static final String SYS_READ = "0";

    @TempDir
    Path dir;

    @Test
    void signals_merge_until_read() {
        try (EventFd event = new EventFd()) {
            event.signal();
            event.signal();
            event.signal();
            assertEquals(3, event.await());
            event.signal();
            assertEquals(1, event.await());
        }
    }

    /**
     * The signal comes only once the waiter sleeps in read(2) on the eventfd, so it is the signal that wakes it,
     * not a counter the read found already set. A Java thread blocked in a native call is RUNNABLE to
     * {@link Thread#getState}, so the kernel is asked instead: /proc/self/task/TID/syscall names the system call
     * and its arguments only while the thread sleeps in it ("running" otherwise). The waiter hands over its kernel
     * thread id, read from /proc/thread-self, before it calls await.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_signal_wakes_a_waiting_thread() throws Exception {
        try (EventFd event = new EventFd()) {
            CompletableFuture<String> tid = new CompletableFuture<>();
            long[] got = new long[1];
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    tid.complete(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
                } catch (IOException | RuntimeException e) {
                    tid.completeExceptionally(e);
                    return;
                }
                got[0] = event.await();
            });
            Path syscall = Path.of("/proc/self/task", tid.get(), "syscall");
            String sleepingInRead = SYS_READ + " 0x" + Integer.toHexString(event.fd()) + " ";
            while (!inSystemCall(syscall).startsWith(sleepingInRead)) {
                assertTrue(waiter.isAlive(), "the waiter ended before it slept in read");
                Thread.sleep(1);
            }
            event.signal();
            waiter.join();
            assertEquals(1, got[0]);
        }
    }

    /** What a thread's /proc syscall file says; "ended" once the thread, and so the file, is gone. */
    private static String inSystemCall(Path syscall) throws IOException {
        try {
            return Files.readString(syscall);
        } catch (NoSuchFileException e) {
            return "ended";
        }
    }

    /**
     * Once closed, its descriptor's number is free for the next file the process opens: a late signal must not write
     * its eight bytes there. Without the check, the signal below would write into the file opened after the close.
     */
    @Test
    void a_closed_eventfd_refuses_to_signal_or_wait_and_touches_no_other_file() throws Exception {
        Path file = dir.resolve("reused");
        Files.write(file, new byte[0]);
        // The lowest free number is the closed eventfd's, unless another thread of this JVM opened a file in between:
        // then that eventfd is left and another tried, until one's number goes to the file. Never is a failure.
        EventFd event = null;
        int reused = -1;
        for (int attempt = 0; attempt < 100 && event == null; attempt++) {
            EventFd closed = new EventFd();
            int number = closed.fd();
            closed.close();
            int opened = Libc.open(file.toString(), Libc.O_RDWR);
            if (opened == number) {
                event = closed;
                reused = opened;
            } else {
                Libc.close(opened);
            }
        }
        assertNotNull(event, "in 100 tries, the file opened after a close never got the eventfd's number");
        try {
            EventFd late = event;
            assertThrows(IllegalStateException.class, late::signal);
            assertThrows(IllegalStateException.class, late::await);
            assertEquals(0, Files.size(file), "the late signal wrote into the file that got its number");
        } finally {
            Libc.close(reused);
        }
        event.close(); // a second close does nothing
    }
}
