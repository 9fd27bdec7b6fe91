package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.vmm.BootTimeline.Phase;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class BootTimelineTest {
    private static final long START = 5_000_000_000L;

    @Test
    void a_host_phase_is_milliseconds_since_the_start_with_one_decimal() {
        assertEquals("panavisor: timeline    812.4 ms  VM and memory created",
                BootTimeline.format(new BootTimeline.Entry(Phase.VM_CREATED, 812_400_000L, BootTimeline.UNSET)));
        assertEquals("panavisor: timeline  45123.5 ms  VM ended",
                BootTimeline.format(new BootTimeline.Entry(Phase.VM_ENDED, 45_123_456_789L, BootTimeline.UNSET)));
    }

    @Test
    void a_guest_line_shows_the_guest_kernels_clock_too() {
        assertEquals("panavisor: timeline   1520.3 ms  guest kernel runs init (guest clock 1.235 s)",
                BootTimeline.format(new BootTimeline.Entry(Phase.GUEST_RUNS_INIT, 1_520_300_000L, 1_234_567L)));
    }

    @Test
    void a_phase_never_reached_says_so_in_the_same_column() {
        String line = BootTimeline.format(new BootTimeline.Entry(Phase.BOOT_MARKER, BootTimeline.UNSET,
                BootTimeline.UNSET));
        assertEquals("panavisor: timeline not reached  init's boot marker (port 0x440)", line);
        assertEquals(line.indexOf("init's"), BootTimeline.format(new BootTimeline.Entry(Phase.BOOT_MARKER, 1_000_000L,
                BootTimeline.UNSET)).indexOf("init's"), "labels line up");
    }

    @Test
    void the_report_lists_every_phase_in_boot_order_whatever_order_they_were_marked_in() {
        BootTimeline timeline = new BootTimeline(START);
        timeline.markAt(Phase.VM_ENDED, START + 3_000_000_000L);
        timeline.markAt(Phase.JVM_UP, START + 40_000_000L);
        timeline.markAt(Phase.FIRST_KVM_RUN, START + 300_000_000L);
        List<String> report = timeline.report();
        assertEquals(Phase.values().length, report.size());
        assertEquals("panavisor: timeline     40.0 ms  JVM up (main entered)", report.get(0));
        assertEquals("panavisor: timeline not reached  command parsed", report.get(1));
        assertEquals("panavisor: timeline    300.0 ms  first KVM_RUN", report.get(5));
        assertEquals("panavisor: timeline   3000.0 ms  VM ended", report.get(10));
        assertEquals(List.of(Phase.values()), timeline.entries().stream().map(BootTimeline.Entry::phase).toList());
    }

    @Test
    void the_first_mark_of_a_phase_wins() {
        BootTimeline timeline = new BootTimeline(START);
        timeline.markAt(Phase.FIRST_KVM_RUN, START + 7_000_000L);
        timeline.markAt(Phase.FIRST_KVM_RUN, START + 9_000_000L);
        timeline.mark(Phase.FIRST_KVM_RUN);
        assertEquals(7_000_000L, entry(timeline, Phase.FIRST_KVM_RUN).sinceStartNanos());
    }

    @Test
    void vcpu_threads_racing_for_first_kvm_run_leave_one_of_their_own_times() throws InterruptedException {
        BootTimeline timeline = new BootTimeline(0);
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        Thread[] vcpus = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            long when = 1_000L * (i + 1);
            vcpus[i] = Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                timeline.markAt(Phase.FIRST_KVM_RUN, when);
                timeline.kernelLine(new PrintkReader.Line(when, "Run /init as init process", when));
            });
        }
        go.countDown();
        for (Thread vcpu : vcpus) {
            vcpu.join();
        }
        long first = entry(timeline, Phase.FIRST_KVM_RUN).sinceStartNanos();
        assertTrue(first >= 1_000L && first <= 8_000L && first % 1_000L == 0, "one thread's mark: " + first);
        BootTimeline.Entry init = entry(timeline, Phase.GUEST_RUNS_INIT);
        assertEquals(init.sinceStartNanos(), init.guestMicros(), "host time and guest clock come from the same line");
    }

    @Test
    void kernel_lines_mark_the_first_console_line_and_the_one_that_runs_init() {
        BootTimeline timeline = new BootTimeline(START);
        timeline.kernelLine(new PrintkReader.Line(0, "Linux version 6.1.0 (gcc 12.2.0)", START + 900_000_000L));
        timeline.kernelLine(new PrintkReader.Line(350_000, "Freeing unused kernel image memory: 1024K",
                START + 1_200_000_000L));
        assertFalse(entry(timeline, Phase.GUEST_RUNS_INIT).reached());
        timeline.kernelLine(new PrintkReader.Line(412_345, "Run /init as init process", START + 1_300_000_000L));
        timeline.kernelLine(new PrintkReader.Line(999_999, "Run /sbin/init as init process", START + 2_000_000_000L));

        BootTimeline.Entry first = entry(timeline, Phase.GUEST_FIRST_LINE);
        assertEquals(900_000_000L, first.sinceStartNanos());
        assertEquals(0, first.guestMicros());
        BootTimeline.Entry init = entry(timeline, Phase.GUEST_RUNS_INIT);
        assertEquals(1_300_000_000L, init.sinceStartNanos());
        assertEquals(412_345, init.guestMicros());
        assertEquals("panavisor: timeline    900.0 ms  guest kernel's first console line (guest clock 0.000 s)",
                timeline.report().get(Phase.GUEST_FIRST_LINE.ordinal()));
    }

    @Test
    void a_root_disk_init_counts_as_running_init() {
        BootTimeline timeline = new BootTimeline(0);
        timeline.kernelLine(new PrintkReader.Line(5, "Run /sbin/init as init process", 10));
        assertEquals(10, entry(timeline, Phase.GUEST_RUNS_INIT).sinceStartNanos());
        BootTimeline other = new BootTimeline(0);
        other.kernelLine(new PrintkReader.Line(5, "Starting init: /sbin/init exists but couldn't execute it", 10));
        assertFalse(entry(other, Phase.GUEST_RUNS_INIT).reached());
    }

    private static BootTimeline.Entry entry(BootTimeline timeline, Phase phase) {
        return timeline.entries().get(phase.ordinal());
    }
}
