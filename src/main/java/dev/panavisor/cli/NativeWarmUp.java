package dev.panavisor.cli;

import dev.panavisor.PanavisorException;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.memory.MappedGuestMemory;

/**
 * The first use of FFM in a process is slow: the linker, the default symbol lookup and every new call shape build
 * classes and stubs (about a second of a boot on the lab's emulated CPU, where it was the largest phase before the
 * guest runs; docs/performance.md, "Start-up"). None of it depends on the command line, so {@code run} starts it
 * on a thread of its own as {@code main} is entered, while picocli parses the arguments on the main thread: the
 * calls a boot makes first (open and ioctl on /dev/kvm, mmap and madvise) are then linked when the VM is built.
 *
 * <p>The thread touches nothing a run owns: it opens /dev/kvm and maps 2 MiB, and closes both. Where /dev/kvm is
 * missing or refused it stops at the failure, quietly: the run itself says what is wrong. {@link #await()} joins it
 * before the VM is built, so it never runs after the seccomp filter is in place.
 */
final class NativeWarmUp {
    /** {@code -Dpanavisor.nativeWarmUp=false} turns it off (to measure what it saves). */
    static final String PROPERTY = "panavisor.nativeWarmUp";

    private static volatile Thread thread;

    private NativeWarmUp() {
    }

    static void start() {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) {
            return;
        }
        thread = Thread.ofPlatform().name("native-warm-up").daemon().start(() -> {
            try (Kvm kvm = Kvm.open(); MappedGuestMemory memory = MappedGuestMemory.allocate(2L << 20)) {
                kvm.vcpuMmapSize();
            } catch (PanavisorException | UnsupportedOperationException e) {
                // No usable /dev/kvm here (or no FFM): the run reports it in its own words.
            }
        });
    }

    /** Waits for the warm-up to end, if one was started; the VM is built after this. */
    static void await() {
        Thread started = thread;
        if (started == null) {
            return;
        }
        try {
            started.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
