package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsoleWatcherTest {
    static void type(ConsoleWatcher watcher, String text) throws IOException {
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            watcher.write(b);
        }
    }

    /** What the user sees once the console flusher has run. */
    static String flushed(ConsoleWatcher watcher, ByteArrayOutputStream shown) throws IOException {
        watcher.flushIfDirty();
        return shown.toString(StandardCharsets.UTF_8);
    }

    @Test
    void output_is_buffered_until_the_flusher_runs_and_only_then_written_once() throws IOException {
        int[] writes = {0};
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        java.io.OutputStream counting = new java.io.OutputStream() {
            @Override
            public void write(int b) {
                writes[0]++;
                shown.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                writes[0]++;
                shown.write(b, off, len);
            }
        };
        ConsoleWatcher watcher = new ConsoleWatcher(counting, false);
        type(watcher, "one byte per exit\n");
        assertEquals(0, writes[0], "nothing reaches the user's stream byte by byte");
        watcher.flushIfDirty();
        assertEquals(1, writes[0], "the whole run in one write");
        assertEquals("one byte per exit\n", shown.toString(StandardCharsets.UTF_8));
        watcher.flushIfDirty();
        assertEquals(1, writes[0], "nothing new, nothing written");
    }

    @Test
    void status_line_is_recorded_and_hidden_with_the_shutdown_noise_after_it() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        type(watcher, "Linux version 6.1\r\n6.1.0\r\npanavisor-exit-status: 3\r\n[ 2.5] reboot: Restarting system\r\n");
        assertEquals(3, watcher.exitStatus());
        assertEquals("Linux version 6.1\r\n6.1.0\r\n", flushed(watcher, shown));
        assertNull(watcher.panic());
    }

    @Test
    void the_last_status_line_counts_so_command_output_cannot_fake_it() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        type(watcher, "old log:\npanavisor-exit-status: 0\nmore output\npanavisor-exit-status: 1\n");
        assertEquals(1, watcher.exitStatus());
        assertEquals("old log:\nmore output\n", flushed(watcher, shown));
        type(watcher, "panavisor-exit-status: 256\n");
        assertEquals(1, watcher.exitStatus(), "statuses beyond 255 are not statuses");
    }

    @Test
    void bulk_writes_are_watched_like_single_bytes() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        byte[] bytes = "hvc0 line\npanavisor-exit-status: 4\n".getBytes(StandardCharsets.UTF_8);
        watcher.write(bytes, 0, bytes.length);
        assertEquals(4, watcher.exitStatus());
        assertEquals("hvc0 line\n", flushed(watcher, shown));
    }

    @Test
    void partial_lines_are_shown_at_once_so_prompts_appear() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        type(watcher, "~ # ");
        assertEquals("~ # ", flushed(watcher, shown));
        type(watcher, "pana");
        assertEquals("~ # ", flushed(watcher, shown), "only what could still become a status is held back");
        type(watcher, "x");
        assertEquals("~ # panax", flushed(watcher, shown), "and shown once it cannot");
        type(watcher, "\n[y/N] ");
        assertEquals("~ # panax\n[y/N] ", flushed(watcher, shown),
                "a prompt in brackets appears at once: before the status, no kernel line is hidden");
    }

    /**
     * A command whose last output does not end its line (printf abc, on the console as a terminal): the init's
     * status follows on the same line. It counts, and the command's text before it is shown. (The status used to
     * be missed: the run ended with status 1 and "without reporting the command's exit status".)
     */
    @Test
    void a_status_after_a_command_s_unfinished_line_counts_and_the_text_before_it_is_shown() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        type(watcher, "abcpanavisor-exit-status: 3\r\n[ 1.2] reboot: Restarting system\r\n");
        assertEquals(3, watcher.exitStatus());
        assertEquals("abc", flushed(watcher, shown));
    }

    @Test
    void without_hiding_the_status_line_is_shown_and_still_recorded() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, false);
        type(watcher, "panavisor-exit-status: 0\n");
        assertEquals(0, watcher.exitStatus());
        assertEquals("panavisor-exit-status: 0\n", flushed(watcher, shown));
    }

    @Test
    void lines_with_carriage_returns_anywhere_are_matched_as_the_patterns_see_them() throws IOException {
        // Ordinary lines skip the patterns (ConsoleWatcher.mayBeWatched); CRs inside a line must not hide one.
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        type(watcher, "12345\r\n\rpanavisor-exit-status: 7\r\n\r[ 3.1] reboot:\r Power down\r\n");
        assertEquals(7, watcher.exitStatus());
        assertEquals("12345\r\n", flushed(watcher, shown));
        type(watcher, "panavisor-exit-\rstatus: 9\r\n");
        assertEquals(9, watcher.exitStatus());
        flushed(watcher, shown);
        shown.reset();
        type(watcher, "[ 3.2] Kernel pa\rnic - not syncing: Attempted to kill init!\r\n");
        assertEquals("Kernel panic - not syncing: Attempted to kill init!", watcher.panic());
        type(watcher, "[ 3.3] after the status, other kernel lines are shown\n");
        assertEquals("[ 3.2] Kernel pa\rnic - not syncing: Attempted to kill init!\r\n"
                + "[ 3.3] after the status, other kernel lines are shown\n", flushed(watcher, shown));
    }

    @Test
    void kernel_panics_are_recognised_after_a_timestamp() throws IOException {
        ConsoleWatcher watcher = new ConsoleWatcher(new ByteArrayOutputStream(), true);
        type(watcher, "[    1.234567] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n");
        assertEquals("Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
                watcher.panic());
    }

    /** A truncated initramfs: the kernel says so once, at KERN_EMERG, and panics later for want of an init. */
    @Test
    void a_panic_after_a_failed_initramfs_names_that_failure() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        type(watcher, "[    0.912000] Initramfs unpacking failed: read error\r\n");
        assertNull(watcher.panic(), "not a panic by itself");
        type(watcher, "[    1.500000] Kernel panic - not syncing: No working init found.  Try passing init= option "
                + "to kernel. See Linux Documentation/admin-guide/init.rst for guidance.\r\n");
        assertEquals("Kernel panic - not syncing: No working init found.  Try passing init= option to kernel. See "
                + "Linux Documentation/admin-guide/init.rst for guidance. (after \"Initramfs unpacking failed: read "
                + "error\")", watcher.panic());
        assertTrue(flushed(watcher, shown).startsWith("[    0.912000] Initramfs unpacking failed: read error\r\n[ "),
                "the line itself is shown, not hidden");
    }

    @Test
    void the_tap_sees_every_byte_the_guest_wrote_including_hidden_lines() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ByteArrayOutputStream tapped = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true, tapped, null);
        String text = "[    0.100000] Run /init as init process\r\nhi\npanavisor-exit-status: 0\n";
        type(watcher, text.substring(0, 20));
        byte[] rest = text.substring(20).getBytes(StandardCharsets.UTF_8);
        watcher.write(rest, 0, rest.length);
        assertEquals(text, tapped.toString(StandardCharsets.UTF_8));
        assertEquals("[    0.100000] Run /init as init process\r\nhi\n", flushed(watcher, shown));
    }

    @Test
    void the_status_listener_runs_once_per_status_line_after_the_status_is_known() throws IOException {
        List<Integer> seen = new ArrayList<>();
        ConsoleWatcher[] watcher = new ConsoleWatcher[1];
        watcher[0] = new ConsoleWatcher(new ByteArrayOutputStream(), true, null,
                () -> seen.add(watcher[0].exitStatus()));
        type(watcher[0], "hi\npanavisor-exit-status: 7");
        assertEquals(List.of(), seen, "not before the line ends");
        type(watcher[0], "\r\n[    1.000000] reboot: Restarting system\npanavisor-exit-status: x\n");
        assertEquals(List.of(7), seen, "a line that is not a status does not call it");
        type(watcher[0], "panavisor-exit-status: 0\n");
        assertEquals(List.of(7, 0), seen);
    }

    @Test
    void a_status_line_inside_a_buffer_calls_the_listener_with_its_own_status() throws IOException {
        List<Integer> seen = new ArrayList<>();
        ConsoleWatcher[] watcher = new ConsoleWatcher[1];
        watcher[0] = new ConsoleWatcher(new ByteArrayOutputStream(), true, null,
                () -> seen.add(watcher[0].exitStatus()));
        byte[] buffer = "out\npanavisor-exit-status: 3\npanavisor-exit-status: 130\nafter".getBytes(
                StandardCharsets.UTF_8); // as the virtio console hands over a whole buffer
        watcher[0].write(buffer, 0, buffer.length);
        assertEquals(List.of(3, 130), seen);
    }

    @Test
    void outside_command_mode_a_status_line_calls_no_listener() throws IOException {
        List<Integer> seen = new ArrayList<>();
        ConsoleWatcher watcher = new ConsoleWatcher(new ByteArrayOutputStream(), false, null, () -> seen.add(1));
        type(watcher, "panavisor-exit-status: 0\n"); // a shell user echoing it
        assertEquals(List.of(), seen);
    }

    @Test
    void very_long_lines_lose_no_bytes() throws IOException {
        ByteArrayOutputStream shown = new ByteArrayOutputStream();
        ConsoleWatcher watcher = new ConsoleWatcher(shown, true);
        String text = "x".repeat(10_000) + "\n";
        type(watcher, text);
        assertEquals(text, flushed(watcher, shown));
    }

    @Test
    void the_flusher_sleeps_until_the_first_byte_after_a_flush() throws Exception {
        ConsoleWatcher watcher = new ConsoleWatcher(new ByteArrayOutputStream(), false);
        java.util.concurrent.Semaphore woke = new java.util.concurrent.Semaphore(0);
        Thread flusher = Thread.ofPlatform().start(() -> {
            try {
                while (true) {
                    watcher.awaitDirty();
                    watcher.flushIfDirty();
                    woke.release();
                }
            } catch (InterruptedException | IOException e) {
                // the test is over
            }
        });
        try {
            assertEquals(false, woke.tryAcquire(100, java.util.concurrent.TimeUnit.MILLISECONDS),
                    "nothing written: no wake-up");
            type(watcher, "x");
            assertEquals(true, woke.tryAcquire(10, java.util.concurrent.TimeUnit.SECONDS), "a byte wakes it");
            assertEquals(false, woke.tryAcquire(100, java.util.concurrent.TimeUnit.MILLISECONDS),
                    "flushed: asleep again");
        } finally {
            flusher.interrupt();
            flusher.join();
        }
    }
}
