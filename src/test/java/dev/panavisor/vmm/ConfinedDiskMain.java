package dev.panavisor.vmm;

import static dev.panavisor.vmm.ChildSteps.step;

import dev.panavisor.devices.virtio.block.FileDiskBackend;
import dev.panavisor.devices.virtio.block.GuestSegments;
import dev.panavisor.memory.MappedGuestMemory;
import dev.panavisor.sys.Seccomp;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A child JVM for {@link ConfinedDiskTest}: opens a disk image as {@code panavisor run} does, confines itself with
 * the VMM's filter, then moves data the way virtio-blk does (a scattered read into several buffers of mmap'd
 * memory, a gathered write, a single-buffer read, a flush, the warm-up's scratch reads) and prints one line per
 * step: {@code NAME ok} or {@code NAME failed: message}. Argument: the image's path (the image holds bytes {@code i & 0xff}).
 */
public final class ConfinedDiskMain {
    private ConfinedDiskMain() {
    }

    public static void main(String[] args) throws Exception {
        try (FileDiskBackend disk = FileDiskBackend.open(Path.of(args[0]), false);
                MappedGuestMemory memory = MappedGuestMemory.allocate(1 << 20)) {
            // The disk's warm-up thread starts before the filter, as a run's does, and plays its requests under it.
            PathWarmUp warmUp = BlockPathWarmUp.thread(disk, "confined", 3);
            warmUp.start();
            Confinement.install();
            System.out.println("seccomp-mode " + Seccomp.mode());
            ByteBuffer[] scattered = {memory.buffer(0x8000, 4096), memory.buffer(0x1000, 512),
                    memory.buffer(0x20000, 8192)};
            step("scattered-read", () -> {
                disk.read(4096, scattered);
                byte[] got = new byte[4096 + 512 + 8192];
                memory.read(0x8000, got, 0, 4096);
                memory.read(0x1000, got, 4096, 512);
                memory.read(0x20000, got, 4608, 8192);
                for (int i = 0; i < got.length; i++) {
                    if (got[i] != (byte) (4096 + i)) {
                        throw new IllegalStateException("byte " + i + " of the read is wrong");
                    }
                }
            });
            step("gathered-write", () -> {
                byte[] ones = new byte[4096];
                Arrays.fill(ones, (byte) 1);
                memory.write(0x40000, ones);
                memory.write(0x50000, ones);
                disk.write(0, new ByteBuffer[] {memory.buffer(0x40000, 4096), memory.buffer(0x50000, 4096)});
            });
            step("segments-read", () -> {
                // The block device's own path: host addresses of guest memory straight into preadv's iovecs.
                disk.read(16384, new GuestSegments(memory, new long[] {0x70000, 0x71800}, new int[] {512, 1024}, 2));
                byte[] got = new byte[1536];
                memory.read(0x70000, got, 0, 512);
                memory.read(0x71800, got, 512, 1024);
                for (int i = 0; i < got.length; i++) {
                    if (got[i] != (byte) (16384 + i)) { // past the 8 KiB the gathered write changed
                        throw new IllegalStateException("byte " + i + " of the segments read is wrong");
                    }
                }
            });
            step("read", () -> disk.read(0, memory.buffer(0x60000, 512)));
            step("flush", disk::flush);
            step("warm-up", () -> {
                warmUp.begin();
                warmUp.awaitEnd(java.time.Duration.ofSeconds(60));
                if (warmUp.served() != 3) {
                    throw new IllegalStateException(warmUp.served() + " of 3 scratch reads answered OK");
                }
            });
        }
        System.out.flush();
    }
}
