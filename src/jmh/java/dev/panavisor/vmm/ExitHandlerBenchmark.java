package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.bus.BusDevice;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What {@link ExitHandler#handle} costs over {@link ExitHandler#dispatch} with the trace off and no flight
 * recording: the {@code --trace} null check and the disabled {@link VmExitEvent}. One port write to a device, as
 * the exit benchmark's guest makes, without KVM, so the nanoseconds are not lost beside a microseconds-long exit
 * (docs/performance.md, "The cost of the trace check when it is off").
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ExitHandlerBenchmark {
    private final Bus pio = new Bus("port I/O");
    private final ExitHandler handler;
    private final VcpuExit exit;
    private long written;

    public ExitHandlerBenchmark() {
        pio.register("sink", TinyPrograms.BENCHMARK_PORT, 1, new BusDevice() {
            @Override
            public long read(long offset, int size) {
                return 0;
            }

            @Override
            public void write(long offset, int size, long value) {
                written += value;
            }
        });
        handler = new ExitHandler(pio, new Bus("MMIO"));
        long[] value = {0x48};
        exit = new VcpuExit.IoOut(TinyPrograms.BENCHMARK_PORT, 1, 1, ExitData.of(value));
    }

    /** Before: the decision alone, as the handler was before tracing and flight recording. */
    @Benchmark
    public Outcome dispatch() {
        return handler.dispatch(exit);
    }

    /** After: the run loop's entry point, trace off, no recording. */
    @Benchmark
    public Outcome handle() {
        return handler.handle(exit);
    }
}
