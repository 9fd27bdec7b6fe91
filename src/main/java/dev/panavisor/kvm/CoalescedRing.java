package dev.panavisor.kvm;

import dev.panavisor.kvm.abi.KvmStructs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.ReentrantLock;

/**
 * KVM's coalesced I/O ring: guest writes to a registered range ({@link Vm#coalescePortWrites},
 * {@link Vm#coalesceMmioWrites}) that KVM records here instead of exiting to user space
 * (Documentation/virt/kvm/api.rst, KVM_(UN)REGISTER_COALESCED_MMIO). A write that only needs to reach its device
 * before the guest's next access to that device need not cost an exit: the 8250's transmit register, written once
 * per byte, is one, since the driver reads a status register (an exit) after every byte or every burst of 16.
 *
 * <p>The ring is one page per VM, mapped in every vCPU's mmap area at the page offset that
 * KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO) answers (include/uapi/linux/kvm.h, struct kvm_coalesced_mmio_ring):
 * a u32 {@code first} (the oldest entry, advanced by user space), a u32 {@code last} (the next free slot, advanced
 * by KVM), then {@link #CAPACITY} entries of 24 bytes (address, length, pio, 8 data bytes). KVM fills an entry
 * before it publishes {@code last}, so {@code last} is read with acquire semantics and {@code first} written with
 * release semantics. When the ring is full KVM exits to user space as if the range were not registered.
 *
 * <p>The rule that keeps the device model right: the ring must be drained, oldest first, before an exit that
 * touches a device whose writes it holds is handled, so the device sees the guest's accesses in the guest's order
 * ({@code Machine} drains on each vCPU thread). One thread drains at a time; {@link #drain} either waits for another
 * thread's drain to end or leaves the ring to it. KVM always leaves one slot free, so at most {@code CAPACITY - 1}
 * writes wait at once. The page is the kernel's, not the guest's; its two indexes are still checked, so a bad value
 * is an error, never an access outside the page.
 */
public final class CoalescedRing {
    /** KVM_COALESCED_MMIO_MAX on x86-64: (page - header) / entry = (4096 - 8) / 24. */
    public static final int CAPACITY = (int) ((KvmStructs.PAGE_SIZE - 8) / KvmStructs.COALESCED_MMIO.byteSize());
    private static final long FIRST = 0;
    private static final long LAST = 4;
    private static final long ENTRIES = 8;
    private static final long ENTRY_SIZE = KvmStructs.COALESCED_MMIO.byteSize();
    private static final long ADDRESS = KvmStructs.offset(KvmStructs.COALESCED_MMIO, "phys_addr");
    private static final long LENGTH = KvmStructs.offset(KvmStructs.COALESCED_MMIO, "len");
    private static final long PIO = KvmStructs.offset(KvmStructs.COALESCED_MMIO, "pio");
    private static final long DATA = KvmStructs.offset(KvmStructs.COALESCED_MMIO, "data");
    private static final VarHandle INDEX = ValueLayout.JAVA_INT.varHandle();

    /** Where a drained write goes: to the bus the exit handler would have given it to. */
    @FunctionalInterface
    public interface Sink {
        void write(boolean pio, long address, int size, long value);
    }

    private final MemorySegment page;
    private final ReentrantLock draining = new ReentrantLock();

    /** The ring in {@code page}, one page of a vCPU's mmap area (or of any memory, for tests). */
    public CoalescedRing(MemorySegment page) {
        if (page.byteSize() < KvmStructs.PAGE_SIZE) {
            throw new IllegalArgumentException("the coalesced ring needs a whole page, got " + page.byteSize());
        }
        this.page = page;
    }

    /**
     * Runs the ring's memory accesses once on a scratch page, so that a VM's first drain, on a vCPU thread while the
     * guest waits, finds their code linked (the first use of an access mode of a memory segment's VarHandle makes
     * the JDK generate classes: docs/performance.md, "Classes generated at start"). For {@code run}'s link-ahead.
     */
    public static void linkAhead() {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment page = scratch.allocate(KvmStructs.PAGE_SIZE);
            page.set(ValueLayout.JAVA_INT, LAST, 1); // one recorded write, as KVM leaves it
            CoalescedRing ring = new CoalescedRing(page);
            if (!ring.isEmpty()) {
                ring.drain((pio, address, size, value) -> { }, false);
            }
        }
    }

    /** Whether KVM recorded any write since the last drain: two loads, cheap enough for every exit. */
    public boolean isEmpty() {
        return (int) INDEX.getAcquire(page, LAST) == (int) INDEX.getOpaque(page, FIRST);
    }

    /** How many writes KVM has recorded that no drain has handed over yet. */
    public int held() {
        int first = checked((int) INDEX.getOpaque(page, FIRST), "first");
        int last = checked((int) INDEX.getAcquire(page, LAST), "last");
        return Math.floorMod(last - first, CAPACITY);
    }

    /**
     * Hands every recorded write to {@code sink}, oldest first, freeing each slot once the sink has taken it (an
     * entry the sink throws on stays, for the next drain); returns how many it handed over. When another thread is
     * draining, waits for it to finish if {@code wait}, else returns 0 at once and leaves the ring to that thread.
     */
    public int drain(Sink sink, boolean wait) {
        if (wait) {
            draining.lock();
        } else if (!draining.tryLock()) {
            return 0;
        }
        try {
            return drainLocked(sink);
        } finally {
            draining.unlock();
        }
    }

    private int drainLocked(Sink sink) {
        int first = checked((int) INDEX.getOpaque(page, FIRST), "first");
        int last = checked((int) INDEX.getAcquire(page, LAST), "last");
        int drained = 0;
        while (first != last) {
            long entry = ENTRIES + first * ENTRY_SIZE;
            int size = Math.clamp(page.get(ValueLayout.JAVA_INT, entry + LENGTH), 1, 8);
            long value = page.get(ValueLayout.JAVA_LONG_UNALIGNED, entry + DATA);
            if (size < 8) {
                value &= (1L << (size * 8)) - 1;
            }
            sink.write(page.get(ValueLayout.JAVA_INT, entry + PIO) != 0,
                    page.get(ValueLayout.JAVA_LONG, entry + ADDRESS), size, value);
            first = (first + 1) % CAPACITY;
            INDEX.setRelease(page, FIRST, first); // the slot is KVM's again
            drained++;
        }
        return drained;
    }

    private static int checked(int index, String which) {
        if (index < 0 || index >= CAPACITY) {
            throw new KvmException("the coalesced I/O ring's " + which + " index is " + index + ", not below "
                    + CAPACITY);
        }
        return index;
    }
}
