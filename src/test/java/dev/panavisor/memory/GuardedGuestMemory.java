package dev.panavisor.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Guest memory for hostile-guest tests: heap-style memory that sits between two guard zones of host memory and
 * counts every access.
 *
 * <p>What it proves. The memory is a slice of a larger allocation, so a device that got past the bounds check would
 * hit the guard zones, which {@link #assertGuardsIntact()} checks are unchanged (nothing was written outside guest
 * memory), or the slice's own bounds, which throw an {@code IndexOutOfBoundsException}, not the typed
 * {@link GuestMemoryException} (so a test that lets only typed exceptions pass catches any out-of-range read).
 * Every access counts against a budget: a device loop that does not end runs out of it and fails with an
 * {@link AssertionError} instead of spinning.
 *
 * <p>It can also play a driver on another vCPU ({@link #flicker}): one 16-bit word, a ring's available index, reads
 * as it is and then, once, one lower, as if the driver published a chain and took it back between two looks of the
 * device. A device that checks for a chain and then pops it sees the chain in its check and not in its pop.
 */
public final class GuardedGuestMemory extends SegmentGuestMemory {
    static final int GUARD = 4096;
    static final byte GUARD_BYTE = (byte) 0xa5;

    private final MemorySegment whole;
    private final long budget;
    private long accesses;
    private long refused;
    private long flickering = -1;
    private int flickerReads;

    /** {@code size} bytes of guest memory, with no limit on accesses (for tests that are not fuzzing). */
    public GuardedGuestMemory(long size) {
        this(size, Long.MAX_VALUE);
    }

    /** {@code size} bytes of guest memory, at most {@code budget} accesses. */
    public GuardedGuestMemory(long size, long budget) {
        this(Arena.ofAuto().allocate(size + 2L * GUARD, 16), size, budget);
    }

    private GuardedGuestMemory(MemorySegment whole, long size, long budget) {
        super(whole.asSlice(GUARD, size));
        this.whole = whole;
        this.budget = budget;
        whole.fill(GUARD_BYTE);
        segment().fill((byte) 0);
    }

    /** Throws {@link AssertionError} if a byte of either guard zone changed. */
    public void assertGuardsIntact() {
        long end = whole.byteSize();
        for (long i = 0; i < end; i++) {
            if (i == GUARD) {
                i = end - GUARD; // skip the guest memory itself
            }
            if (whole.get(ValueLayout.JAVA_BYTE, i) != GUARD_BYTE) {
                throw new AssertionError(String.format("host memory at %d bytes %s guest memory was written", 
                        i < GUARD ? GUARD - i : i - (end - GUARD) + 1, i < GUARD ? "before" : "after"));
            }
        }
    }

    /** Guest memory full of pseudo-random bytes from {@code seed}, as a hostile guest's RAM is. */
    public static GuardedGuestMemory scrambled(long seed, long size, long budget) {
        GuardedGuestMemory memory = new GuardedGuestMemory(size, budget);
        memory.scramble(seed);
        return memory;
    }

    /**
     * Fills guest memory with pseudo-random bytes from {@code seed}: a hostile guest's RAM is never zero. (A fuzz
     * test takes the seed from its input, so the bytes are reproducible from the input alone.)
     */
    public void scramble(long seed) {
        byte[] bytes = new byte[(int) size()];
        new java.util.Random(seed).nextBytes(bytes);
        MemorySegment.copy(bytes, 0, segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
    }

    /** Accesses so far, refused ones included. */
    public long accesses() {
        return accesses;
    }

    /** Accesses refused as out of range (each threw {@link GuestMemoryException}). */
    public long refused() {
        return refused;
    }

    @Override
    public void checkRange(long address, long length) {
        if (++accesses > budget) {
            throw new AssertionError("more than " + budget + " guest memory accesses: a loop that does not end?");
        }
        try {
            super.checkRange(address, length);
        } catch (GuestMemoryException e) {
            refused++;
            throw e;
        }
    }

    /** The next read of the word at {@code address} gives its value, the one after that its value less one. */
    public void flicker(long address) {
        flickering = address;
        flickerReads = 0;
    }

    @Override
    public int readU16(long address) {
        int value = super.readU16(address);
        if (address != flickering || ++flickerReads != 2) {
            return value;
        }
        return (value - 1) & 0xffff;
    }
}
