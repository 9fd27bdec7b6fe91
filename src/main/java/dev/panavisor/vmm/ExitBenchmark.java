package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.bus.BusDevice;
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

    /** What each exit goes through after it is decoded. */
    public enum Handling {
        /** Nothing: the loop alone, as the C baseline does. */
        BARE,
        /** {@link ExitHandler}'s decision without the trace check: the handler as it was before tracing. */
        DISPATCH,
        /** {@link ExitHandler#handle} with the trace off: today's handler, one null check more. */
        HANDLE
    }

    /** One timed run: how many exits it saw and how long they took. */
    public record Sample(long exits, long nanos) {
        public double nanosPerExit() {
            return (double) nanos / exits;
        }
    }

    public static Sample run(Kvm kvm, int count) {
        return run(kvm, count, Handling.BARE);
    }

    /** As above, each exit going through {@code handling}; the port the guest writes has a device that drops it. */
    public static Sample run(Kvm kvm, int count, Handling handling) {
        Bus pio = new Bus("port I/O");
        pio.register("sink", TinyPrograms.BENCHMARK_PORT, 1, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
            }
        });
        ExitHandler handler = new ExitHandler(pio, new Bus("MMIO"));
        try (TinyGuest guest = TinyGuest.realMode(kvm, TinyPrograms.portWrites(count))) {
            long exits = 0;
            long start = System.nanoTime();
            VcpuExit exit;
            while ((exit = guest.run()) instanceof VcpuExit.IoOut) {
                exits++;
                switch (handling) {
                    case BARE -> { }
                    case DISPATCH -> handler.dispatch(exit);
                    case HANDLE -> handler.handle(exit);
                }
            }
            long nanos = System.nanoTime() - start;
            if (!(exit instanceof VcpuExit.Hlt) || exits != count) {
                throw new IllegalStateException("benchmark guest ended with " + exit + " after " + exits + " exits");
            }
            return new Sample(exits, nanos);
        }
    }
}
