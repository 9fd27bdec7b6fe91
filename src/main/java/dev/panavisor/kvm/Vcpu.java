package dev.panavisor.kvm;

import static dev.panavisor.kvm.abi.KvmRunLayout.EXIT_REASON;
import static dev.panavisor.kvm.abi.KvmRunLayout.IMMEDIATE_EXIT;

import dev.panavisor.kvm.abi.KvmExitReason;
import dev.panavisor.kvm.abi.KvmIoctls;
import dev.panavisor.kvm.abi.KvmRunLayout;
import dev.panavisor.kvm.abi.KvmStructs;
import dev.panavisor.sys.Errno;
import dev.panavisor.sys.KickSignal;
import dev.panavisor.sys.Libc;
import dev.panavisor.sys.NativeCallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;

/**
 * One virtual CPU: its registers, CPUID, MSRs, FPU and local APIC state, and {@link #run()}, which enters the
 * guest until the next exit and decodes it from the shared kvm_run page (Documentation/virt/kvm/api.rst §4.10).
 *
 * <p>A vCPU must be run from one thread at a time. {@link #requestExit()} may be called from any thread.
 */
public final class Vcpu implements AutoCloseable {
    private final int id;
    private final int fd;
    private final MemorySegment run;
    private final ExitData ioData;
    private final ExitData mmioData;
    private final VcpuExit.Hlt hlt = new VcpuExit.Hlt();
    private final VcpuExit.Interrupted interrupted = new VcpuExit.Interrupted();
    private boolean closed;
    /** The pthread_t of the thread running this vCPU, 0 when none is bound; guarded by {@code this}. */
    private long boundThread;

    Vcpu(int id, int fd, int mmapSize) {
        this.id = id;
        this.fd = fd;
        this.run = Libc.mmap(mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0, "kvm_run");
        this.ioData = new RunPageData(run, KvmRunLayout.IO_SIZE, true);
        this.mmioData = new RunPageData(run, KvmRunLayout.MMIO_LEN, false);
    }

    public int id() {
        return id;
    }

    /** Page {@code pageOffset} of this vCPU's mmap area (0 is kvm_run), or null when the area is shorter. */
    MemorySegment mmapPage(int pageOffset) {
        long start = pageOffset * KvmStructs.PAGE_SIZE;
        return start + KvmStructs.PAGE_SIZE <= run.byteSize() ? run.asSlice(start, KvmStructs.PAGE_SIZE) : null;
    }

    /**
     * Runs the vCPU until it exits to user space and returns why. Returns {@link VcpuExit.Interrupted} when a
     * signal or {@link #requestExit()} stopped it.
     */
    public VcpuExit run() {
        int result = Libc.ioctlOrErrno(fd, KvmIoctls.KVM_RUN, 0);
        if (result < 0) {
            if (result == -Errno.EINTR || result == -Errno.EAGAIN) {
                run.set(ValueLayout.JAVA_BYTE, IMMEDIATE_EXIT, (byte) 0);
                KickSignal.consumePending(); // else the next KVM_RUN would return EINTR at once
                return interrupted;
            }
            throw new NativeCallException("ioctl(KVM_RUN) on vCPU " + id, -result);
        }
        return decodeExit();
    }

    private VcpuExit decodeExit() {
        int reason = run.get(ValueLayout.JAVA_INT, EXIT_REASON);
        return switch (reason) {
            case KvmExitReason.IO -> {
                int size = u8(KvmRunLayout.IO_SIZE);
                int port = Short.toUnsignedInt(run.get(ValueLayout.JAVA_SHORT, KvmRunLayout.IO_PORT));
                int count = run.get(ValueLayout.JAVA_INT, KvmRunLayout.IO_COUNT);
                yield u8(KvmRunLayout.IO_DIRECTION) == KvmRunLayout.IO_DIRECTION_OUT
                        ? new VcpuExit.IoOut(port, size, count, ioData)
                        : new VcpuExit.IoIn(port, size, count, ioData);
            }
            case KvmExitReason.MMIO -> {
                long address = run.get(ValueLayout.JAVA_LONG, KvmRunLayout.MMIO_PHYS_ADDR);
                int size = run.get(ValueLayout.JAVA_INT, KvmRunLayout.MMIO_LEN);
                yield u8(KvmRunLayout.MMIO_IS_WRITE) != 0
                        ? new VcpuExit.MmioWrite(address, size, mmioData.get(0))
                        : new VcpuExit.MmioRead(address, size, mmioData);
            }
            case KvmExitReason.HLT -> hlt;
            case KvmExitReason.SHUTDOWN -> new VcpuExit.Shutdown();
            case KvmExitReason.INTR -> interrupted;
            case KvmExitReason.FAIL_ENTRY -> new VcpuExit.FailEntry(
                    run.get(ValueLayout.JAVA_LONG, KvmRunLayout.FAIL_ENTRY_REASON),
                    run.get(ValueLayout.JAVA_INT, KvmRunLayout.FAIL_ENTRY_CPU));
            case KvmExitReason.INTERNAL_ERROR -> new VcpuExit.InternalError(
                    run.get(ValueLayout.JAVA_INT, KvmRunLayout.INTERNAL_SUBERROR),
                    longs(KvmRunLayout.INTERNAL_NDATA, KvmRunLayout.INTERNAL_DATA));
            case KvmExitReason.SYSTEM_EVENT -> new VcpuExit.SystemEvent(
                    run.get(ValueLayout.JAVA_INT, KvmRunLayout.SYSTEM_EVENT_TYPE),
                    longs(KvmRunLayout.SYSTEM_EVENT_NDATA, KvmRunLayout.SYSTEM_EVENT_DATA));
            default -> new VcpuExit.Unknown(reason);
        };
    }

    private int u8(long offset) {
        return Byte.toUnsignedInt(run.get(ValueLayout.JAVA_BYTE, offset));
    }

    private long[] longs(long countOffset, long dataOffset) {
        int count = Math.min(16, Math.max(0, run.get(ValueLayout.JAVA_INT, countOffset)));
        long[] values = new long[count];
        for (int i = 0; i < count; i++) {
            values[i] = run.get(ValueLayout.JAVA_LONG, dataOffset + i * 8L);
        }
        return values;
    }

    /**
     * Makes the current or next {@link #run()} return {@link VcpuExit.Interrupted} (kvm_run.immediate_exit,
     * KVM_CAP_IMMEDIATE_EXIT). A vCPU already inside the guest also needs a signal to leave it; a VMM that stops
     * from another thread sets this and then signals the vCPU thread.
     */
    public void requestExit() {
        run.set(ValueLayout.JAVA_BYTE, IMMEDIATE_EXIT, (byte) 1);
    }

    /**
     * Makes the calling thread the one that runs this vCPU and can be kicked out of it ({@link #kick()}): blocks
     * the {@link KickSignal} on this thread and tells KVM to unblock it only inside KVM_RUN (KVM_SET_SIGNAL_MASK,
     * api.rst §4.43). The thread must call {@link #unbindThread()} before it ends.
     */
    public void bindToCurrentThread() {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment threadMask = KickSignal.blockOnThisThread(call);
            // struct kvm_signal_mask: len = 8 (the kernel's sigset_t), then the first 8 bytes of the mask.
            MemorySegment mask = call.allocate(4 + 8, 8);
            mask.set(ValueLayout.JAVA_INT, 0, 8);
            mask.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, threadMask.get(ValueLayout.JAVA_LONG, 0));
            Libc.ioctl(fd, KvmIoctls.KVM_SET_SIGNAL_MASK, mask, "KVM_SET_SIGNAL_MASK");
        }
        synchronized (this) {
            boundThread = Libc.pthreadSelf();
        }
    }

    /**
     * Called by the bound thread before it ends: no kick is sent to it any more, and one still pending is taken off
     * (the JVM unblocks signals on a thread as it ends, and would deliver it then).
     */
    public synchronized void unbindThread() {
        boundThread = 0;
        KickSignal.consumePending();
    }

    /**
     * Stops the vCPU promptly from any thread: {@link #requestExit()} for a thread about to enter KVM_RUN, and the
     * {@link KickSignal} for one already inside it, even one halted in the guest with interrupts off, which KVM
     * would otherwise keep waiting. Its {@link #run()} returns {@link VcpuExit.Interrupted}.
     */
    public synchronized void kick() {
        if (closed) {
            return; // its kvm_run page is unmapped: a late kick (a stop racing the end) has nothing left to stop
        }
        requestExit();
        if (boundThread != 0) {
            KickSignal.send(boundThread);
        }
    }

    public Regs regs() {
        Regs regs = new Regs();
        Libc.ioctl(fd, KvmIoctls.KVM_GET_REGS, regs.struct, "KVM_GET_REGS");
        return regs;
    }

    public void setRegs(Regs regs) {
        Libc.ioctl(fd, KvmIoctls.KVM_SET_REGS, regs.struct, "KVM_SET_REGS");
    }

    public Sregs sregs() {
        Sregs sregs = new Sregs();
        Libc.ioctl(fd, KvmIoctls.KVM_GET_SREGS, sregs.struct, "KVM_GET_SREGS");
        return sregs;
    }

    public void setSregs(Sregs sregs) {
        Libc.ioctl(fd, KvmIoctls.KVM_SET_SREGS, sregs.struct, "KVM_SET_SREGS");
    }

    /** KVM_SET_CPUID2: what CPUID returns inside this vCPU. */
    public void setCpuid(List<CpuidEntry> entries) {
        try (Arena call = Arena.ofConfined()) {
            Libc.ioctl(fd, KvmIoctls.KVM_SET_CPUID2, Kvm.CpuidCodec.encode(call, entries), "KVM_SET_CPUID2");
        }
    }

    /** KVM_SET_MSRS: sets each model-specific register index -> value; fails if KVM rejects any of them. */
    public void setMsrs(Map<Integer, Long> msrs) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment struct = msrStruct(call, msrs.size());
            int i = 0;
            for (Map.Entry<Integer, Long> msr : msrs.entrySet()) {
                long entry = KvmStructs.MSRS_HEADER.byteSize() + i++ * KvmStructs.MSR_ENTRY.byteSize();
                struct.set(ValueLayout.JAVA_INT, entry, msr.getKey());
                struct.set(ValueLayout.JAVA_LONG, entry + 8, msr.getValue());
            }
            int set = Libc.ioctl(fd, KvmIoctls.KVM_SET_MSRS, struct, "KVM_SET_MSRS");
            if (set != msrs.size()) {
                throw new KvmException("KVM_SET_MSRS set " + set + " of " + msrs.size() + " MSRs " + msrs.keySet());
            }
        }
    }

    /** KVM_GET_MSRS for one register. */
    public long msr(int index) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment struct = msrStruct(call, 1);
            struct.set(ValueLayout.JAVA_INT, KvmStructs.MSRS_HEADER.byteSize(), index);
            if (Libc.ioctl(fd, KvmIoctls.KVM_GET_MSRS, struct, "KVM_GET_MSRS") != 1) {
                throw new KvmException(String.format("KVM_GET_MSRS: MSR 0x%x not readable", index));
            }
            return struct.get(ValueLayout.JAVA_LONG, KvmStructs.MSRS_HEADER.byteSize() + 8);
        }
    }

    private static MemorySegment msrStruct(Arena arena, int count) {
        MemorySegment struct = arena.allocate(
                KvmStructs.MSRS_HEADER.byteSize() + count * KvmStructs.MSR_ENTRY.byteSize(), 8);
        struct.set(ValueLayout.JAVA_INT, 0, count);
        return struct;
    }

    /** KVM_SET_FPU with x87 control word {@code fcw}, MXCSR {@code mxcsr}, and everything else zero. */
    public void setFpu(int fcw, int mxcsr) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment fpu = call.allocate(KvmStructs.FPU);
            fpu.set(ValueLayout.JAVA_SHORT, KvmStructs.offset(KvmStructs.FPU, "fcw"), (short) fcw);
            fpu.set(ValueLayout.JAVA_INT, KvmStructs.offset(KvmStructs.FPU, "mxcsr"), mxcsr);
            Libc.ioctl(fd, KvmIoctls.KVM_SET_FPU, fpu, "KVM_SET_FPU");
        }
    }

    /** KVM_GET_FPU: returns {fcw, mxcsr}. */
    public int[] fpuControl() {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment fpu = call.allocate(KvmStructs.FPU);
            Libc.ioctl(fd, KvmIoctls.KVM_GET_FPU, fpu, "KVM_GET_FPU");
            return new int[] {
                Short.toUnsignedInt(fpu.get(ValueLayout.JAVA_SHORT, KvmStructs.offset(KvmStructs.FPU, "fcw"))),
                fpu.get(ValueLayout.JAVA_INT, KvmStructs.offset(KvmStructs.FPU, "mxcsr"))};
        }
    }

    /** KVM_GET_LAPIC: the 1 KiB local APIC register page (needs the in-kernel irqchip). */
    public byte[] lapic() {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(KvmStructs.LAPIC_STATE);
            Libc.ioctl(fd, KvmIoctls.KVM_GET_LAPIC, state, "KVM_GET_LAPIC");
            return state.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** KVM_SET_LAPIC from a 1 KiB register page. */
    public void setLapic(byte[] registers) {
        if (registers.length != KvmStructs.LAPIC_STATE.byteSize()) {
            throw new IllegalArgumentException("LAPIC state must be 1024 bytes");
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(KvmStructs.LAPIC_STATE);
            state.copyFrom(MemorySegment.ofArray(registers));
            Libc.ioctl(fd, KvmIoctls.KVM_SET_LAPIC, state, "KVM_SET_LAPIC");
        }
    }

    /** Synchronized with {@link #kick()}: a kick from another thread never writes to the page this unmaps. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.munmap(run);
            Libc.close(fd);
        }
    }

    /**
     * The data of the current I/O or MMIO exit, read and written in place in the kvm_run page. For I/O the data
     * lives at kvm_run + io.data_offset, element width io.size; for MMIO it is the 8-byte mmio.data array.
     */
    private static final class RunPageData implements ExitData {
        private final MemorySegment run;
        private final long sizeOffset;
        private final boolean io;

        RunPageData(MemorySegment run, long sizeOffset, boolean io) {
            this.run = run;
            this.sizeOffset = sizeOffset;
            this.io = io;
        }

        private int width() {
            return io ? Byte.toUnsignedInt(run.get(ValueLayout.JAVA_BYTE, sizeOffset))
                    : run.get(ValueLayout.JAVA_INT, sizeOffset);
        }

        private long address(int index, int width) {
            long base = io ? run.get(ValueLayout.JAVA_LONG, KvmRunLayout.IO_DATA_OFFSET) : KvmRunLayout.MMIO_DATA;
            long address = base + (long) index * width;
            if (address < 0 || address + width > run.byteSize() || (!io && index != 0)) {
                throw new KvmException("exit data index " + index + " outside the kvm_run page");
            }
            return address;
        }

        @Override
        public long get(int index) {
            int width = width();
            long address = address(index, width);
            long value = 0;
            for (int i = 0; i < width && i < 8; i++) {
                value |= Byte.toUnsignedLong(run.get(ValueLayout.JAVA_BYTE, address + i)) << (8 * i);
            }
            return value;
        }

        @Override
        public void set(int index, long value) {
            int width = width();
            long address = address(index, width);
            for (int i = 0; i < width && i < 8; i++) {
                run.set(ValueLayout.JAVA_BYTE, address + i, (byte) (value >>> (8 * i)));
            }
        }
    }
}
