package dev.panavisor.vmm;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.VcpuExit;

/**
 * Times guest exits through Panavisor's run loop: a tiny guest does {@code count} port writes, each an exit to
 * user space and back (KVM_RUN returns, the exit is decoded into a record, KVM_RUN again). The clock runs from the
 * first KVM_RUN to the HLT, excluding VM set-up — the same interval the C baseline (tools/bench/exit-loop.c) times.
 */
public final class ExitBenchmark {
    private ExitBenchmark() {
    }

    /** One timed run: how many exits it saw and how long they took. */
    public record Sample(long exits, long nanos) {
        public double nanosPerExit() {
            return (double) nanos / exits;
        }
    }

    public static Sample run(Kvm kvm, int count) {
        try (TinyGuest guest = TinyGuest.realMode(kvm, TinyPrograms.portWrites(count))) {
            long exits = 0;
            long start = System.nanoTime();
            VcpuExit exit;
            while ((exit = guest.run()) instanceof VcpuExit.IoOut) {
                exits++;
            }
            long nanos = System.nanoTime() - start;
            if (!(exit instanceof VcpuExit.Hlt) || exits != count) {
                throw new IllegalStateException("benchmark guest ended with " + exit + " after " + exits + " exits");
            }
            return new Sample(exits, nanos);
        }
    }
}
