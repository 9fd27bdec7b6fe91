package dev.panavisor.kvm;

import dev.panavisor.kvm.abi.KvmStructs;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * KVM's coalesced I/O ring: guest writes to a registered range ({@link Vm#registerCoalescedPio}) that KVM records
 * here instead of exiting to user space (Documentation/virt/kvm/api.rst, KVM_(UN)REGISTER_COALESCED_MMIO). A write
 * that only needs to reach its device before the guest's next access to that device need not cost an exit: the
 * 8250's transmit register, written once per byte, is one, since the driver reads a status register (an exit)
 * after every byte or every burst of 16.
 *
 * <p>The ring is one page per VM, mapped in every vCPU's mmap area at the page offset that
 * KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO) answers (include/uapi/linux/kvm.h, struct kvm_coalesced_mmio_ring):
 * a u32 {@code first} (the oldest entry, advanced by user space), a u32 {@code last} (the next free slot, advanced
 * by KVM), then {@link #CAPACITY} entries of 24 bytes (address, length, pio, 8 data bytes). KVM fills an entry
 * before it publishes {@code last}, so {@code last} is read with acquire semantics and {@code first} written with
 * release semantics. When the ring is full KVM exits to user space as if the range were not registered.
 *
 * <p>The rule that keeps the device model right: the ring must be drained, oldest first, before every exit is
 * handled, so each device sees the guest's accesses in the guest's order ({@code Machine} does it on each vCPU
 * thread; {@link #drain} is serialized). The page is the kernel's, not the guest's; its two indexes are still
 * checked, so a bad value is an error, never an access outside the page.
 */
public final class CoalescedRing {
    /** KVM_COALESCED_MMIO_MAX on x86-64: (4096 - 8) / 24. */
    public static final int CAPACITY = 170;
    static final long PAGE_SIZE = 4096;
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

    /** The ring in {@code page}, one page of a vCPU's mmap area (or of any memory, for tests). */
    public CoalescedRing(MemorySegment page) {
        if (page.byteSize() < PAGE_SIZE) {
            throw new IllegalArgumentException("the coalesced ring needs a whole page, got " + page.byteSize());
        }
        this.page = page;
    }

    /** Whether KVM recorded any write since the last drain: two loads, cheap enough for every exit. */
    public boolean isEmpty() {
        return (int) INDEX.getAcquire(page, LAST) == (int) INDEX.get(page, FIRST);
    }

    /** Hands every recorded write to {@code sink}, oldest first, and frees its slot; returns how many there were. */
    public synchronized int drain(Sink sink) {
        int first = checked((int) INDEX.get(page, FIRST), "first");
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
