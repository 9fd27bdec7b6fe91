package dev.panavisor.devices.virtio.queue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.panavisor.memory.GuestMemory;

/**
 * What a hostile driver writes into a queue's memory, for the fuzz tests of the queue and of every device; the
 * fuzzer's input chooses every value, and the choices lean towards the ones that break devices (edges of memory,
 * lengths around 2^31 and 2^32, loops).
 */
public final class HostileDriver {
    private HostileDriver() {
    }

    /** Descriptors a hostile driver writes: loops, far links, indirect tables, and addresses and lengths at edges. */
    public static void scribble(FuzzedDataProvider data, GuestMemory memory, QueueLayout layout, long memorySize) {
        int size = layout.size();
        for (int i = 0; i < size; i++) {
            if (data.consumeInt(0, 2) == 0) {
                continue; // leave the bytes that were there
            }
            long at = layout.descriptorTable() + 16L * i;
            int flags = data.consumeInt(0, 7) == 0 ? data.consumeInt(0, 0xffff) : data.consumeInt(0, 7);
            long address = address(data, memorySize);
            long length = length(data, memorySize);
            if ((flags & DescriptorChain.F_INDIRECT) != 0 && data.consumeBoolean()) {
                length = 16L * data.consumeInt(1, 2 * size);
                address = 16 * data.consumeLong(0, memorySize / 16 - 1);
            }
            int next = switch (data.consumeInt(0, 3)) {
                case 0 -> i; // a loop of one
                case 1 -> data.consumeInt(0, 0xffff);
                default -> data.consumeInt(0, size - 1);
            };
            memory.writeU64(at, address);
            memory.writeU32(at + 8, (int) length);
            memory.writeU16(at + 12, flags);
            memory.writeU16(at + 14, next);
        }
        for (int slot = 0; slot < size; slot++) {
            int head = data.consumeInt(0, 9) == 0 ? data.consumeInt(0, 0xffff) : data.consumeInt(0, size - 1);
            memory.writeU16(layout.availableRing() + 4 + 2L * slot, head);
        }
    }

    /** An address: inside memory of {@code size} bytes, at or near its edges, or far outside (negative, 2^63). */
    public static long address(FuzzedDataProvider data, long size) {
        return switch (data.consumeInt(0, 7)) {
            case 0 -> size;
            case 1 -> size - 1 - data.consumeInt(0, 15);
            case 2 -> -1L - data.consumeInt(0, 15);
            case 3 -> Long.MAX_VALUE - data.consumeInt(0, 15);
            case 4 -> 0xffff_ffffL;
            default -> data.consumeLong(0, size - 1);
        };
    }

    /** A 32-bit length: small, around {@code size}, or huge. */
    public static long length(FuzzedDataProvider data, long size) {
        return switch (data.consumeInt(0, 7)) {
            case 0 -> 0;
            case 1 -> 0xffff_ffffL;
            case 2 -> 0x8000_0000L;
            case 3 -> size & 0xffff_ffffL;
            case 4 -> data.consumeInt(0, 4095);
            default -> data.consumeInt(1, 600);
        };
    }

    /** One of {@code interesting} most of the time, otherwise any 64-bit value. */
    public static long pick(FuzzedDataProvider data, long... interesting) {
        return data.consumeInt(0, 3) == 0 ? data.consumeLong() : data.pickValue(interesting);
    }
}
