package dev.panavisor.memory;

import java.lang.foreign.Arena;

/**
 * Guest memory in which one 16-bit word, a ring's available index, reads as it is and then, once, one lower: a
 * hostile driver on another vCPU publishing a chain and taking it back between two looks of the device. A device
 * that checks for a chain and then pops it sees the chain in its check and not in its pop.
 */
public final class FlickeringGuestMemory extends SegmentGuestMemory {
    private long flickering = -1;
    private int reads;

    public FlickeringGuestMemory(long size) {
        super(Arena.ofAuto().allocate(size, 4096));
    }

    /** The next read of the word at {@code address} gives its value, the one after that its value less one. */
    public void flicker(long address) {
        flickering = address;
        reads = 0;
    }

    @Override
    public int readU16(long address) {
        int value = super.readU16(address);
        if (address != flickering || ++reads != 2) {
            return value;
        }
        return (value - 1) & 0xffff;
    }
}
