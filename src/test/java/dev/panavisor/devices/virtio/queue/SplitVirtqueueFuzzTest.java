package dev.panavisor.devices.virtio.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.testing.Fuzz;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A hostile driver against the device side of a split virtqueue (virtio 1.2 §2.7), on guarded heap memory full of
 * random bytes: descriptor loops, chains longer than the queue, indirect tables (nested, combined with NEXT, badly
 * sized, outside memory), addresses outside RAM or overflowing, huge lengths, readable after writable, available
 * indices that wrap or jump, and rings that overlap each other (a used ring on top of the descriptors).
 *
 * <p>Properties, per case: {@code pop} either returns exactly the chain the spec's rules give (checked against an
 * independent walk of the descriptors below) or throws {@link VirtqueueException}; every segment of a returned chain
 * lies inside guest memory and the chain's copy helpers stay inside it; nothing else escapes; no host memory outside
 * guest memory is touched; the device pops at most queue-size chains for one publication of the driver (with
 * non-overlapping rings) and never loops.
 */
@Tag("fuzz")
class SplitVirtqueueFuzzTest {
    static final long MEMORY = 0x4000;
    static final long ACCESS_BUDGET = 2_000_000;

    @Test
    void hostile_rings_give_the_specified_chain_or_a_virtqueue_exception() {
        Fuzz.run("split-virtqueue", 3000, SplitVirtqueueFuzzTest::oneCase);
    }

    static void oneCase(Random random) {
        GuardedGuestMemory memory = new GuardedGuestMemory(MEMORY, ACCESS_BUDGET);
        memory.scramble(random);
        int size = 1 << random.nextInt(7);
        QueueLayout layout = layout(random, size);
        boolean indirect = random.nextBoolean();
        SplitVirtqueue queue;
        try {
            queue = new SplitVirtqueue(memory, layout, 64, random.nextBoolean(), indirect);
        } catch (VirtqueueException e) {
            memory.assertGuardsIntact();
            return; // a layout the device refused: the transport reports that as DEVICE_NEEDS_RESET
        }
        HostileDriver.scribble(random, memory, layout, MEMORY);
        int published = random.nextInt(size + 1);
        memory.writeU16(layout.availableRing() + 2, random.nextInt(10) == 0 ? random.nextInt(65536) : published);
        int rounds = 1 + random.nextInt(3);
        for (int round = 0; round < rounds; round++) {
            if (!serve(random, memory, layout, queue, indirect)) {
                break;
            }
            // The driver publishes more (or scribbles over the rings) between notifications.
            int avail = memory.readU16(layout.availableRing() + 2);
            memory.writeU16(layout.availableRing() + 2, avail + random.nextInt(size + 1));
            if (random.nextBoolean()) {
                HostileDriver.scribble(random, memory, layout, MEMORY);
            }
        }
        memory.assertGuardsIntact();
    }

    /** Pops until empty or refused, checking each chain; returns false once the queue was refused. */
    private static boolean serve(Random random, GuardedGuestMemory memory, QueueLayout layout, SplitVirtqueue queue,
            boolean indirect) {
        int limit = overlapping(layout) ? 1 << 17 : layout.size();
        for (int pops = 0; ; pops++) {
            int slot = queue.lastAvailIdx() % layout.size();
            int head = memory.readU16(layout.availableRing() + 4 + 2L * slot);
            List<long[]> expected = expectedChain(memory, layout, head, indirect);
            DescriptorChain chain;
            try {
                chain = queue.pop();
            } catch (VirtqueueException e) {
                int pending = (memory.readU16(layout.availableRing() + 2) - queue.lastAvailIdx()) & 0xffff;
                assertTrue(expected == null || pending > layout.size(), "refused a valid chain: " + e.getMessage());
                return false;
            }
            if (chain == null) {
                return true;
            }
            assertTrue(pops < limit, "popped more chains than the driver published");
            assertEquals(head, chain.headIndex());
            checkChain(random, memory, chain, expected);
            queue.addUsed(chain.headIndex(), random.nextInt());
            if (random.nextInt(4) == 0) {
                queue.needsNotification();
            }
        }
    }

    static void checkChain(Random random, GuestMemory memory, DescriptorChain chain, List<long[]> expected) {
        assertFalse(expected == null, "accepted a chain the spec's rules refuse");
        assertEquals(expected.size(), chain.segmentCount());
        long readable = 0;
        long writable = 0;
        for (int i = 0; i < chain.segmentCount(); i++) {
            assertEquals(expected.get(i)[0], chain.address(i));
            assertEquals(expected.get(i)[1], chain.length(i));
            assertEquals(expected.get(i)[2] != 0, chain.isWritable(i));
            assertTrue(memory.contains(chain.address(i), chain.length(i)));
            if (chain.isWritable(i)) {
                writable += chain.length(i);
            } else {
                readable += chain.length(i);
            }
        }
        assertEquals(readable, chain.readableBytes());
        assertEquals(writable, chain.writableBytes());
        byte[] buffer = new byte[64];
        long offset = (long) (random.nextDouble() * (readable + 8));
        int length = random.nextInt(65);
        assertEquals(Math.min(length, Math.max(0, readable - offset)), chain.readFromReadable(offset, buffer, 0, length));
        offset = (long) (random.nextDouble() * (writable + 8));
        assertEquals(Math.min(length, Math.max(0, writable - offset)), chain.writeToWritable(offset, buffer, 0, length));
        assertEquals(-1, chain.writableAddress(writable));
        if (writable > 0) {
            assertTrue(memory.contains(chain.writableAddress(writable - 1), 1));
        }
    }

    /**
     * The chain from {@code head} as virtio 1.2 §2.7.5 and §2.7.5.3.1 define it, as (address, length, writable)
     * triples, or null when a rule is broken. Written apart from {@link DescriptorChain}, as the test's oracle.
     */
    static List<long[]> expectedChain(GuestMemory memory, QueueLayout layout, int head, boolean indirectAllowed) {
        if (head >= layout.size()) {
            return null;
        }
        List<long[]> segments = new ArrayList<>();
        long table = layout.descriptorTable();
        long entries = layout.size();
        boolean nested = false;
        boolean sawWritable = false;
        long index = head;
        while (true) {
            long at = table + 16 * index;
            long address = memory.readU64(at);
            long length = memory.readU32(at + 8);
            int flags = memory.readU16(at + 12);
            if ((flags & DescriptorChain.F_INDIRECT) != 0) {
                if (!indirectAllowed || nested || (flags & DescriptorChain.F_NEXT) != 0 || length == 0
                        || length % 16 != 0 || !memory.contains(address, length)) {
                    return null;
                }
                table = address;
                entries = length / 16;
                nested = true;
                index = 0;
                continue;
            }
            boolean writable = (flags & DescriptorChain.F_WRITE) != 0;
            if (segments.size() == layout.size() || !memory.contains(address, length) || (sawWritable && !writable)) {
                return null;
            }
            sawWritable |= writable;
            segments.add(new long[] {address, length, writable ? 1 : 0});
            if ((flags & DescriptorChain.F_NEXT) == 0) {
                return segments;
            }
            index = memory.readU16(at + 14);
            if (index >= entries) {
                return null;
            }
        }
    }

    /** Contiguous, or each part anywhere (overlaps allowed), sometimes misaligned or outside memory. */
    static QueueLayout layout(Random random, int size) {
        if (random.nextBoolean()) {
            return QueueLayout.contiguous(16 * (long) random.nextInt((int) (MEMORY / 16)), size);
        }
        return new QueueLayout(random.nextInt(20) == 0 ? 3 * size : size, part(random, 16), part(random, 2),
                part(random, 4));
    }

    private static long part(Random random, int alignment) {
        return random.nextInt(20) == 0 ? Fuzz.address(random, MEMORY)
                : alignment * (long) random.nextInt((int) (MEMORY / alignment));
    }

    static boolean overlapping(QueueLayout l) {
        long[][] parts = {{l.descriptorTable(), QueueLayout.descriptorTableBytes(l.size())},
            {l.availableRing(), QueueLayout.availableRingBytes(l.size())},
            {l.usedRing(), QueueLayout.usedRingBytes(l.size())}};
        for (int i = 0; i < 3; i++) {
            for (int j = i + 1; j < 3; j++) {
                if (parts[i][0] < parts[j][0] + parts[j][1] && parts[j][0] < parts[i][0] + parts[i][1]) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void a_used_ring_on_top_of_the_descriptor_table_ends() {
        // Regression example: the device's own used-ring writes rewrite the descriptors it reads next.
        GuardedGuestMemory memory = new GuardedGuestMemory(MEMORY, ACCESS_BUDGET);
        QueueLayout layout = new QueueLayout(8, 0x1000, 0x2000, 0x1000);
        SplitVirtqueue queue = new SplitVirtqueue(memory, layout, 8, true, false);
        for (int i = 0; i < 8; i++) {
            memory.writeU64(0x1000 + 16L * i, 0x3000);
            memory.writeU32(0x1000 + 16L * i + 8, 16);
            memory.writeU16(0x2000 + 4 + 2L * i, i);
        }
        memory.writeU16(0x2002, 8);
        int popped = 0;
        try {
            for (DescriptorChain chain = queue.pop(); chain != null; chain = queue.pop()) {
                queue.addUsed(chain.headIndex(), 0xffff_ffff);
                popped++;
            }
        } catch (VirtqueueException expected) {
            // the overwritten descriptors may become invalid: that is a refusal, not a failure
        }
        assertTrue(popped <= 8, "popped " + popped);
        memory.assertGuardsIntact();
    }
}
