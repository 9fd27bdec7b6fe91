package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The eventfd a device worker waits on and KVM signals, on the real kernel (no KVM needed). */
class EventFdTest {
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

    @Test
    void a_signal_wakes_a_waiting_thread() throws Exception {
        try (EventFd event = new EventFd()) {
            long[] got = new long[1];
            Thread waiter = Thread.ofPlatform().start(() -> got[0] = event.await());
            event.signal();
            waiter.join(10_000);
            assertEquals(1, got[0]);
        }
    }

    /**
     * Once closed, its descriptor's number is free for the next file the process opens: a late signal must not write
     * its eight bytes there. Without the check, the signal below would write into the file opened after the close.
     */
    @Test
    void a_closed_eventfd_refuses_to_signal_or_wait_and_touches_no_other_file() throws Exception {
        EventFd event = new EventFd();
        int number = event.fd();
        event.close();
        Path file = dir.resolve("reused");
        Files.write(file, new byte[0]);
        int reused = Libc.open(file.toString(), Libc.O_RDWR);
        try {
            assertThrows(IllegalStateException.class, event::signal);
            assertThrows(IllegalStateException.class, event::await);
            // The lowest free number is the eventfd's, unless another thread of this JVM opened a file in between.
            if (reused == number) {
                assertEquals(0, Files.size(file), "the late signal wrote into the file that got its number");
            }
        } finally {
            Libc.close(reused);
        }
        event.close(); // a second close does nothing
    }
}
