package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.testing.Requires;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Creates, runs and closes {@value #VMS} whole Machines in one JVM — each with its vCPU thread, a virtio-blk disk
 * with its worker thread, ioeventfd and irqfds, guest memory, the console flusher — and checks that the process's
 * file descriptors, threads, memory mappings and resident memory stay flat ({@link LeakCycleMain} does the cycles).
 *
 * <p>A child JVM with a fixed, pre-touched heap ({@code -Xms=-Xmx}, AlwaysPreTouch, the serial GC Panavisor runs
 * with): the heap is then resident from the start and stays so, where a growing and shrinking heap moved RSS by
 * ±20 MiB between samples in this test's first version, hiding anything smaller.
 *
 * <p>Flat means: between VM {@value #WARM_UP} (JIT, class loading and malloc have settled) and VM {@value #VMS},
 * that is over 150 VMs, fds and threads within {@value #FD_SLACK} (the JVM starts JIT compiler threads on demand),
 * mappings within {@value #MAPPINGS_SLACK} (malloc arenas and the code cache add some), RSS within
 * {@value #RSS_SLACK_MIB} MiB (the code cache and metaspace still grow a little), virtual size within
 * {@value #VIRTUAL_SLACK_MIB} MiB (a malloc arena reserves 64 MiB). A leak shows 150 times over: an fd or a thread
 * per VM is +150; a kvm_run or guest memory mapping left behind is +150 × its size of virtual memory (the mapping
 * count alone can miss it: adjacent anonymous mappings merge into one line; leaving each 32 MiB guest mapped was
 * checked to show as +4.7 GiB here, and only +6 MiB of RSS); native memory leaked at 56 KiB per VM or more
 * exceeds the RSS bound.
 */
@Tag("kvm")
class VmLifecycleLeakTest {
    static final int VMS = 200;
    static final int WARM_UP = 50;
    static final int FD_SLACK = 4;
    static final int MAPPINGS_SLACK = 40;
    static final int RSS_SLACK_MIB = 8;

    static final int VIRTUAL_SLACK_MIB = 64;

    record Sample(int vm, long fds, long threads, long mappings, long rssKiB, long virtualKiB) {
    }

    @Test
    void two_hundred_vms_leave_fds_threads_mappings_and_rss_flat(@TempDir Path dir) throws Exception {
        Requires.kvm();
        String output = ChildJvm.run(List.of("-XX:+UseSerialGC", "-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch"),
                LeakCycleMain.class, String.valueOf(VMS), String.valueOf(WARM_UP), dir.toString());
        List<Sample> samples = new ArrayList<>();
        for (String line : output.split("\n")) {
            String[] f = line.split(" ");
            if (f[0].equals("sample")) {
                samples.add(new Sample(Integer.parseInt(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]),
                        Long.parseLong(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6])));
            }
        }
        // Printed for the report (target/surefire-reports/*-output.txt).
        System.out.print(output);
        assertEquals(List.of(1, 50, 100, 150, 200), samples.stream().map(Sample::vm).toList(), output);
        Sample warm = samples.get(1);
        Sample last = samples.getLast();
        assertTrue(last.fds() <= warm.fds() + FD_SLACK, "fds grew: " + warm + " -> " + last);
        assertTrue(last.threads() <= warm.threads() + FD_SLACK, "threads grew: " + warm + " -> " + last);
        assertTrue(last.mappings() <= warm.mappings() + MAPPINGS_SLACK, "mappings grew: " + warm + " -> " + last);
        assertTrue(last.rssKiB() <= warm.rssKiB() + (RSS_SLACK_MIB << 10), "RSS grew: " + warm + " -> " + last);
        assertTrue(last.virtualKiB() <= warm.virtualKiB() + (VIRTUAL_SLACK_MIB << 10),
                "virtual size grew: " + warm + " -> " + last);
    }
}
