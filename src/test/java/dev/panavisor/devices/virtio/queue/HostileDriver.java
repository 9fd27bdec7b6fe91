package dev.panavisor.devices.virtio.queue;

import dev.panavisor.memory.GuestMemory;
import dev.panavisor.testing.Fuzz;
import java.util.Random;

/** What a hostile driver writes into a queue's memory, for the fuzz tests of the queue and of every device. */
public final class HostileDriver {
    private HostileDriver() {
    }

    /** Descriptors a hostile driver writes: loops, far links, indirect tables, and addresses and lengths at edges. */
    public static void scribble(Random random, GuestMemory memory, QueueLayout layout, long memorySize) {
        int size = layout.size();
        for (int i = 0; i < size; i++) {
            if (random.nextInt(3) == 0) {
                continue; // leave the random bytes
            }
            long at = layout.descriptorTable() + 16L * i;
            int flags = random.nextInt(8) == 0 ? random.nextInt(65536) : random.nextInt(8);
            long address = Fuzz.address(random, memorySize);
            long length = Fuzz.length(random, memorySize);
            if ((flags & DescriptorChain.F_INDIRECT) != 0 && random.nextBoolean()) {
                length = 16L * (1 + random.nextInt(2 * size));
                address = 16 * (long) random.nextInt((int) (memorySize / 16));
            }
            int next = switch (random.nextInt(4)) {
                case 0 -> i; // a loop of one
                case 1 -> random.nextInt(65536);
                default -> random.nextInt(size);
            };
            memory.writeU64(at, address);
            memory.writeU32(at + 8, (int) length);
            memory.writeU16(at + 12, flags);
            memory.writeU16(at + 14, next);
        }
        for (int slot = 0; slot < size; slot++) {
            int head = random.nextInt(10) == 0 ? random.nextInt(65536) : random.nextInt(size);
            memory.writeU16(layout.availableRing() + 4 + 2L * slot, head);
        }
    }
}
