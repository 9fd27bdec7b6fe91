package dev.panavisor.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * The raw disk image the disk benchmarks ({@code bench io}, {@code bench compare}) give every VMM: every byte
 * written, so no VMM meets a hole. A read of a hole costs a host less than a read of data, and a write into one
 * costs more (the host's file system allocates, and on a tmpfs zeroes, each page first): on a sparse image the
 * first VMM to write would pay for every page and the next ones for none.
 */
public final class BenchDisk {
    private static final int MIB = 1 << 20;

    private BenchDisk() {
    }

    /**
     * Writes a new image of {@code sizeMiB} MiB. One random MiB is repeated with each 4 KiB block stamped with its
     * number, which is quick to write even on the lab's emulated CPU and leaves no two blocks alike.
     */
    public static void create(Path image, long sizeMiB) throws IOException {
        byte[] pattern = new byte[MIB];
        new SplittableRandom(20261201L).nextBytes(pattern);
        ByteBuffer block = ByteBuffer.wrap(pattern);
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long mib = 0; mib < sizeMiB; mib++) {
                for (int offset = 0; offset < pattern.length; offset += 4096) {
                    block.putLong(offset, mib * 256 + offset / 4096);
                }
                block.clear();
                while (block.hasRemaining()) {
                    channel.write(block);
                }
            }
            channel.force(true);
        }
    }
}
