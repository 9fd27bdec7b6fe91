package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.devices.serial.Uart8250;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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
 * The VMM's side of one console line on the 8250, without KVM: the port accesses Linux's 8250 driver makes for a
 * line of {@code seq}'s output (docs/performance.md, "Consoles": the IER write that starts transmission, the
 * interrupt handler's IIR, LSR and MSR reads, one THR write per byte, the IER write that stops it), each through
 * the port bus as a vCPU's exit handler makes it, the bytes into the console watcher as `run --exec` sets it up.
 * Forked with {@code -XX:TieredStopAtLevel=1}, the JIT the lab's JVMs use, so the figure speaks for the lab.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ConsoleLineBenchmark {
    private static final int COM1 = 0x3f8;
    private static final byte[] LINE = "12345\r\n".getBytes(StandardCharsets.US_ASCII);
    private final Bus pio = new Bus("port I/O");
    private final ConsoleWatcher console = new ConsoleWatcher(OutputStream.nullOutputStream(), true);
    private long read;

    public ConsoleLineBenchmark() {
        pio.register("com2", 0x2f8, 8, new Uart8250(OutputStream.nullOutputStream(), asserted -> { }));
        pio.register("com1", COM1, 8, new Uart8250(console, asserted -> { }));
        pio.register("marker", 0x440, 4, new Uart8250(OutputStream.nullOutputStream(), asserted -> { }));
        pio.write(COM1 + 2, 1, 0x07); // FCR: FIFOs on, as Linux sets them
    }

    @Benchmark
    public long line() throws Exception {
        pio.write(COM1 + 1, 1, 0x02); // IER: THRE interrupt on (start_tx)
        read += pio.read(COM1 + 2, 1); // IIR
        read += pio.read(COM1 + 5, 1); // LSR
        read += pio.read(COM1 + 6, 1); // MSR
        for (byte b : LINE) {
            pio.write(COM1, 1, b); // THR
        }
        pio.write(COM1 + 1, 1, 0x00); // IER: off again (stop_tx)
        read += pio.read(COM1 + 2, 1); // IIR: nothing pending
        console.flushIfDirty();
        return read;
    }
}
