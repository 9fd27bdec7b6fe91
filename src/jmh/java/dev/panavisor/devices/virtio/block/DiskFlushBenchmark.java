package dev.panavisor.devices.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a guest's cache flush (VIRTIO_BLK_T_FLUSH) costs the host, as {@link FileDiskBackend#flush} does it
 * ({@code fdatasync}) and as an {@code fsync} would: each operation overwrites one 4 KiB block of a 16 MiB raw image
 * (its size never changes, like a disk's) through the backend and then makes it durable. Both kinds put the data on
 * stable storage; an {@code fsync} also writes the inode's new modification time, which on a journalling file
 * system is one more journal commit per flush. The image is created in {@code java.io.tmpdir}: run it where disk
 * images live ({@code -Djava.io.tmpdir=DIR}); on tmpfs both are nearly free.
 *
 * <p>Run: {@code mvn -B -ntp -q -Pbench package -DskipTests && java -jar target/panavisor-benchmarks.jar
 * DiskFlushBenchmark}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DiskFlushBenchmark {
    static final int BLOCK = 4096;
    static final int DISK_BYTES = 16 << 20;

    /** {@code backend}: {@link FileDiskBackend#flush}; {@code fsync}: {@code FileChannel.force(true)}. */
    @Param({"backend", "fsync"})
    String flush;

    Path image;
    FileDiskBackend disk;
    FileChannel channel;
    ByteBuffer block;
    long offset;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        image = VirtioBlockReadBenchmark.patternedImage(DISK_BYTES);
        disk = FileDiskBackend.open(image, false);
        channel = FileChannel.open(image, StandardOpenOption.WRITE);
        block = ByteBuffer.allocateDirect(BLOCK);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        channel.close();
        disk.close();
        Files.deleteIfExists(image);
    }

    @Benchmark
    public long writeThenFlush() throws IOException {
        offset = (offset + BLOCK) % DISK_BYTES;
        block.clear();
        block.putLong(0, offset);
        disk.write(offset, block);
        if (flush.equals("fsync")) {
            channel.force(true);
        } else {
            disk.flush();
        }
        return offset;
    }
}
