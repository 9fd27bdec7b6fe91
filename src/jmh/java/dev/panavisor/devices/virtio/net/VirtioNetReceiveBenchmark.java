package dev.panavisor.devices.virtio.net;

import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;

import dev.panavisor.devices.virtio.CountingInterrupt;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.HeapGuestMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What delivering one 64 KiB TCP segment from a TAP costs the receive thread (docs/network.md, "Measured").
 *
 * <p>{@link #receiveFromTap} does what {@code TapNetwork.receiveBurst} does after its {@code read(2)}: the frame (its
 * virtio-net header first, as a TAP with offloads hands it over) is copied from the native read buffer into a Java
 * array, then {@link VirtioNet#receive} spreads it over mergeable receive buffers of 1,536 bytes (43 of them, as
 * Linux's driver posts them before its average grows), with the used ring and the notification decision; the driver
 * side (a {@link DriverQueue} on heap guest memory) posts the buffers again and collects them, which is counted too.
 * {@link #copiesOnly} is the floor of that path: the same two copies (native buffer to array, array to guest memory)
 * with no device in between.
 *
 * <p>Run: {@code mvn -B -ntp -q -Pbench package -DskipTests && java -jar target/panavisor-benchmarks.jar
 * VirtioNetReceiveBenchmark}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class VirtioNetReceiveBenchmark {
    final CountingInterrupt interrupt = new CountingInterrupt();
    static final int BUFFER = 1536;
    static final long BUFFERS = 0x40000;
    static final int FRAME = VirtioNet.HEADER_SIZE + 65_000;

    HeapGuestMemory memory;
    VirtioNet device;
    DriverQueue driver;
    MemorySegment readBuffer;
    byte[] frameBytes;
    int buffers;

    @Setup(Level.Trial)
    public void setUp() {
        memory = new HeapGuestMemory(1 << 20);
        NetBackend tap = new NetBackend() {
            @Override
            public void transmit(byte[] frame, int offset, int length) {
            }

            @Override
            public String name() {
                return "bench-tap";
            }

            @Override
            public long offloads() {
                return VirtioNet.OFFLOADS;
            }
        };
        device = new VirtioNet(tap, MacAddress.parse("02:00:00:00:00:01"), () -> { });
        QueueLayout rx = QueueLayout.contiguous(0x1000, VirtioNet.QUEUE_SIZE);
        QueueLayout tx = QueueLayout.contiguous(0x8000, VirtioNet.QUEUE_SIZE);
        driver = new DriverQueue(memory, rx);
        device.activate(device.offeredFeatures(), List.of(
                new SplitVirtqueue(memory, rx, VirtioNet.QUEUE_SIZE, true, true),
                new SplitVirtqueue(memory, tx, VirtioNet.QUEUE_SIZE, true, true)), memory, interrupt);
        readBuffer = Arena.ofAuto().allocate(FRAME);
        for (int i = VirtioNet.HEADER_SIZE; i < FRAME; i++) {
            readBuffer.set(ValueLayout.JAVA_BYTE, i, (byte) i);
        }
        frameBytes = new byte[FRAME];
        buffers = (FRAME + BUFFER - 1) / BUFFER;
    }

    @Benchmark
    public int receiveFromTap() {
        for (int i = 0; i < buffers; i++) {
            driver.add(writable(BUFFERS + (long) i * BUFFER, BUFFER));
        }
        MemorySegment.copy(readBuffer, ValueLayout.JAVA_BYTE, 0, frameBytes, 0, FRAME);
        if (!device.receive(frameBytes, FRAME)) {
            throw new IllegalStateException("frame not taken");
        }
        int used = 0;
        while (driver.pollUsed() != null) {
            used++;
        }
        return used;
    }

    @Benchmark
    public int copiesOnly() {
        MemorySegment.copy(readBuffer, ValueLayout.JAVA_BYTE, 0, frameBytes, 0, FRAME);
        memory.write(BUFFERS, frameBytes, 0, FRAME);
        return memory.readU8(BUFFERS);
    }
}
