package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.sys.EventFd;
import dev.panavisor.testing.Requires;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The KVM mechanisms the machine's threads rest on, each shown with a tiny guest: a vCPU kicked out of KVM_RUN from
 * another thread, and a guest write that signals an eventfd inside KVM instead of exiting (an ioeventfd).
 */
@Tag("kvm")
class VcpuThreadingTest {
    /** 16-bit real mode: {@code jmp $} (eb fe), a guest that spins forever and never exits by itself. */
    private static final byte[] SPIN = {(byte) 0xeb, (byte) 0xfe};

    /**
     * 64-bit long mode: two 32-bit writes to 0xd0000050 (where a virtio-mmio device's QueueNotify sits), of 1 and
     * then 2, then hlt.
     * <pre>
     *   48 b8 50 00 00 d0 00 00 00 00   mov rax, 0xd0000050
     *   c7 00 01 00 00 00               mov dword [rax], 1
     *   c7 00 02 00 00 00               mov dword [rax], 2
     *   f4                              hlt
     * </pre>
     */
    private static final byte[] TWO_NOTIFIES = {0x48, (byte) 0xb8, 0x50, 0x00, 0x00, (byte) 0xd0, 0x00, 0x00, 0x00,
        0x00, (byte) 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00, (byte) 0xc7, 0x00, 0x02, 0x00, 0x00, 0x00, (byte) 0xf4};

    @Test
    @org.junit.jupiter.api.Timeout(120) // a vCPU that never spins in the guest fails here, not by hanging
    void a_kick_from_another_thread_ends_kvm_run_of_a_spinning_guest() throws Exception {
        Requires.kvm();
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.realMode(kvm, SPIN)) {
            CompletableFuture<Boolean> bound = new CompletableFuture<>();
            CompletableFuture<VcpuExit> exit = new CompletableFuture<>();
            Thread vcpuThread = Thread.ofPlatform().name("spinning-vcpu").start(() -> {
                try {
                    guest.vcpu().bindToCurrentThread();
                    bound.complete(true);
                    exit.complete(guest.run());
                } catch (Throwable e) {
                    bound.completeExceptionally(e);
                    exit.completeExceptionally(e);
                } finally {
                    guest.vcpu().unbindThread();
                }
            });
            bound.get(10, TimeUnit.SECONDS);
            // In the guest and spinning: after binding, the thread's only work is KVM_RUN, so 100 ms more of its CPU
            // time is time in the guest (a kick before it got there would end the next KVM_RUN just the same).
            awaitCpuMillis(vcpuThread, 100);
            assertFalse(exit.isDone(), "the guest spins; nothing should have ended KVM_RUN yet");
            long kicked = System.nanoTime();
            guest.vcpu().kick();
            VcpuExit result = exit.get(10, TimeUnit.SECONDS);
            long micros = (System.nanoTime() - kicked) / 1000;
            assertInstanceOf(VcpuExit.Interrupted.class, result);
            vcpuThread.join(10_000);
            assertFalse(vcpuThread.isAlive());
            System.out.printf("kick to KVM_RUN return: %d us%n", micros); // measured, not asserted
        }
    }

    @Test
    void a_kick_that_lands_before_kvm_run_is_not_lost() throws Exception {
        Requires.kvm();
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.realMode(kvm, SPIN)) {
            VcpuExit result = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                CompletableFuture<VcpuExit> exit = new CompletableFuture<>();
                Thread t = Thread.ofPlatform().start(() -> {
                    try {
                        guest.vcpu().bindToCurrentThread();
                        guest.vcpu().kick(); // the signal is now pending and blocked on this very thread
                        exit.complete(guest.run());
                        // The pending signal was taken off: the next entry runs the guest again until kicked.
                        guest.vcpu().kick();
                        exit.obtrudeValue(guest.run());
                    } catch (Throwable e) {
                        exit.completeExceptionally(e);
                    } finally {
                        guest.vcpu().unbindThread();
                    }
                });
                t.join();
                return exit.get();
            });
            assertInstanceOf(VcpuExit.Interrupted.class, result);
        }
    }

    @Test
    void a_write_matching_an_ioeventfd_signals_it_without_an_exit() {
        Requires.kvm();
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.longMode(kvm, TWO_NOTIFIES);
                EventFd notified = new EventFd()) {
            guest.vm().assignIoeventfd(0xd000_0050L, 4, 1, notified.fd());
            VcpuExit first = guest.run();
            // The write of 1 matched: KVM signalled the eventfd and resumed the guest. The write of 2 did not.
            VcpuExit.MmioWrite write = assertInstanceOf(VcpuExit.MmioWrite.class, first);
            assertEquals(0xd000_0050L, write.address());
            assertEquals(2, write.value());
            assertInstanceOf(VcpuExit.Hlt.class, guest.run());
            assertEquals(1, assertTimeoutPreemptively(Duration.ofSeconds(10), notified::await));
        }
    }

    /** Waits until {@code thread} has used {@code millis} more CPU time than at the call (the caller bounds it). */
    static void awaitCpuMillis(Thread thread, long millis) throws InterruptedException {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long start = threads.getThreadCpuTime(thread.threadId());
        while (threads.getThreadCpuTime(thread.threadId()) - start < millis * 1_000_000) {
            assertFalse(start < 0 || !thread.isAlive(), thread.getName() + " ended, or its CPU time is not measured");
            Thread.sleep(5);
        }
    }
}
