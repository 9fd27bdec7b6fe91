package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.FutureTask;
import org.junit.jupiter.api.Test;

class ThreadAffinityTest {
    /** Runs on a thread of its own, so that the test's thread keeps every CPU. */
    private static String pinnedThen(int cpu) throws Exception {
        FutureTask<String> task = new FutureTask<>(() -> {
            int result = ThreadAffinity.pinCallingThread(cpu);
            String allowed = Files.readAllLines(Path.of("/proc/thread-self/status")).stream()
                    .filter(line -> line.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow();
            return result + " " + allowed.substring(allowed.indexOf(':') + 1).trim();
        });
        Thread.ofPlatform().start(task);
        return task.get();
    }

    @Test
    void the_calling_thread_is_pinned_to_the_cpu_it_names() throws Exception {
        int cpu = ThreadAffinity.allowedCpus().getLast();
        assertEquals("0 " + cpu, pinnedThen(cpu));
    }

    @Test
    void kernel_cpu_lists_are_read_as_cpu_numbers() {
        assertEquals(List.of(0, 1, 2, 3, 6, 8, 9), ThreadAffinity.parseCpuList("0-3,6,8-9"));
        assertEquals(List.of(5), ThreadAffinity.parseCpuList("5"));
    }

    @Test
    void the_cpus_allowed_are_the_ones_the_kernel_gives_another_reader_of_this_process() throws Exception {
        // An independent reader: util-linux's taskset asks the kernel (sched_getaffinity) for this process's CPUs,
        // where allowedCpus reads /proc. Its line: "pid 4242's current affinity list: 0,1".
        ProcessBuilder builder = new ProcessBuilder("taskset", "-cp", Long.toString(ProcessHandle.current().pid()))
                .redirectErrorStream(true);
        builder.environment().put("LC_ALL", "C"); // the line is translated in other locales
        Process taskset = builder.start();
        String line = new String(taskset.getInputStream().readAllBytes()).trim();
        assertEquals(0, taskset.waitFor(), line);
        assertEquals(ThreadAffinity.parseCpuList(line.substring(line.lastIndexOf(':') + 1).trim()),
                ThreadAffinity.allowedCpus(), line);
    }

    @Test
    void a_cpu_that_is_not_there_is_einval_and_changes_nothing() throws Exception {
        String before = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(line -> line.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow();
        assertEquals("-22 " + before.substring(before.indexOf(':') + 1).trim(), pinnedThen(1023));
    }

    @Test
    void a_cpu_outside_a_cpu_set_is_refused() {
        assertThrows(IllegalArgumentException.class, () -> ThreadAffinity.pinCallingThread(1024));
        assertThrows(IllegalArgumentException.class, () -> ThreadAffinity.pinCallingThread(-1));
    }
}
