package dev.panavisor.devices.virtio.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panavisor.memory.GuardedGuestMemory;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.testing.FuzzLimits;
import java.util.ArrayList;
import java.util.List;
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
 *
 * <p>Jazzer chooses every value from its input; the regression corpus, replayed by every test run, is
 * {@code src/test/resources/dev/panavisor/devices/virtio/queue/SplitVirtqueueFuzzTestInputs/}.
 */
@Tag("fuzz")
class SplitVirtqueueFuzzTest {
    static final long MEMORY = 0x4000;
    static final long ACCESS_BUDGET = 2_000_000;

    @FuzzTest(maxDuration = FuzzLimits.IN_SUITE)
    void hostile_rings_give_the_specified_chain_or_a_virtqueue_exception(FuzzedDataProvider data) {
        GuardedGuestMemory memory = new GuardedGuestMemory(MEMORY, ACCESS_BUDGET);
        memory.scramble(data.consumeLong());
        int size = 1 << data.consumeInt(0, 6);
        QueueLayout layout = layout(data, size);
        boolean indirect = data.consumeBoolean();
        SplitVirtqueue queue;
        try {
            queue = new SplitVirtqueue(memory, layout, 64, data.consumeBoolean(), indirect);
        } catch (VirtqueueException e) {
            memory.assertGuardsIntact();
            return; // a layout the device refused: the transport reports that as DEVICE_NEEDS_RESET
        }
        HostileDriver.scribble(data, memory, layout, MEMORY);
        int published = data.consumeInt(0, size);
        memory.writeU16(layout.availableRing() + 2,
                data.consumeInt(0, 9) == 0 ? data.consumeInt(0, 0xffff) : published);
        int rounds = data.consumeInt(1, 3);
        for (int round = 0; round < rounds; round++) {
            if (!serve(data, memory, layout, queue, indirect)) {
                break;
            }
            // The driver publishes more (or scribbles over the rings) between notifications.
            int avail = memory.readU16(layout.availableRing() + 2);
            memory.writeU16(layout.availableRing() + 2, avail + data.consumeInt(0, size));
            if (data.consumeBoolean()) {
                HostileDriver.scribble(data, memory, layout, MEMORY);
            }
        }
        memory.assertGuardsIntact();
    }

    /** Pops until empty or refused, checking each chain; returns false once the queue was refused. */
    private static boolean serve(FuzzedDataProvider data, GuardedGuestMemory memory, QueueLayout layout, SplitVirtqueue queue,
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
            checkChain(data, memory, chain, expected);
            queue.addUsed(chain.headIndex(), data.consumeInt());
            if (data.consumeInt(0, 3) == 0) {
                queue.needsNotification();
            }
        }
    }

    static void checkChain(FuzzedDataProvider data, GuestMemory memory, DescriptorChain chain, List<long[]> expected) {
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
        long offset = data.consumeLong(0, readable + 7);
        int length = data.consumeInt(0, 64);
        assertEquals(Math.min(length, Math.max(0, readable - offset)), chain.readFromReadable(offset, buffer, 0, length));
        offset = data.consumeLong(0, writable + 7);
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
    static QueueLayout layout(FuzzedDataProvider data, int size) {
        if (data.consumeBoolean()) {
            return QueueLayout.contiguous(16 * data.consumeLong(0, MEMORY / 16 - 1), size);
        }
        return new QueueLayout(data.consumeInt(0, 19) == 0 ? 3 * size : size, part(data, 16), part(data, 2),
                part(data, 4));
    }

    private static long part(FuzzedDataProvider data, int alignment) {
        return data.consumeInt(0, 19) == 0 ? HostileDriver.address(data, MEMORY)
                : alignment * data.consumeLong(0, MEMORY / alignment - 1);
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
