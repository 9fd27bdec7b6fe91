package dev.panavisor.devices.virtio.queue;

import dev.panavisor.memory.MappedGuestMemory;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The descriptor walk of a 1,016 KiB read as Linux sends it: a chain of 256 descriptors (header, 254 page-sized
 * data buffers, status byte) loaded and checked by {@link DescriptorChain#load}, on mmap'd guest memory. No queue
 * rings and no I/O: only the reads and checks of the descriptors, which run once per request on the device's
 * worker. Run it as the lab's JVMs run (C1 only) with {@code -jvmArgsAppend -XX:TieredStopAtLevel=1}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DescriptorWalkBenchmark {
    static final int QUEUE_SIZE = 256;
    static final long TABLE = 0x1000;
    static final long DATA = 0x100000;

    MappedGuestMemory memory;
    DescriptorChain chain;

    @Setup(Level.Trial)
    public void setUp() {
        memory = MappedGuestMemory.allocate(8 << 20);
        QueueLayout layout = QueueLayout.contiguous(TABLE, QUEUE_SIZE);
        for (int i = 0; i < QUEUE_SIZE; i++) {
            long descriptor = TABLE + (long) QueueLayout.DESCRIPTOR_SIZE * i;
            boolean last = i == QUEUE_SIZE - 1;
            int length = i == 0 ? 16 : last ? 1 : 4096;
            int flags = (last ? 0 : DescriptorChain.F_NEXT) | (i == 0 ? 0 : DescriptorChain.F_WRITE);
            memory.writeU64(descriptor, DATA + 2L * 4096 * i); // every other page, as a scattered user buffer
            memory.writeU32(descriptor + 8, length);
            memory.writeU16(descriptor + 12, flags);
            memory.writeU16(descriptor + 14, last ? 0 : i + 1);
        }
        chain = new DescriptorChain(memory, layout, false);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        memory.close();
    }

    @Benchmark
    public long load() {
        chain.load(0);
        return chain.writableBytes();
    }
}
