package dev.panavisor.kvm;

import dev.panavisor.kvm.abi.KvmCap;
import dev.panavisor.kvm.abi.KvmIoctls;
import dev.panavisor.kvm.abi.KvmStructs;
import dev.panavisor.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A KVM virtual machine: its memory slots, its in-kernel interrupt controllers and timer, interrupt lines and
 * eventfd wiring, and its vCPUs (Documentation/virt/kvm/api.rst §4, "vm ioctls"). Closing it closes its vCPUs.
 */
public final class Vm implements AutoCloseable {
    private final Kvm kvm;
    private final int fd;
    private final int vcpuMmapSize;
    private final List<Vcpu> vcpus = new ArrayList<>();
    /** KVM's coalesced ring, mapped at the first coalesced registration; one per VM, shared by its zones. */
    private CoalescedRing coalescedRing;
    /**
     * Reused for KVM_IRQ_LINE; guarded by {@code this}. In an automatic arena, freed with this object: closing a
     * shared arena is a handshake with every Java thread (docs/performance.md, "The VM's teardown").
     */
    private final MemorySegment irqLevel = Arena.ofAuto().allocate(KvmStructs.IRQ_LEVEL);
    private boolean closed;

    Vm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
        this.vcpuMmapSize = kvm.vcpuMmapSize();
    }

    public Kvm kvm() {
        return kvm;
    }

    /**
     * KVM_SET_USER_MEMORY_REGION: guest-physical [guestAddress, guestAddress + host.byteSize()) is backed by the
     * host mapping {@code host} (page-aligned, and kept mapped as long as the VM lives).
     */
    public void setUserMemoryRegion(int slot, long guestAddress, MemorySegment host) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment region = call.allocate(KvmStructs.USERSPACE_MEMORY_REGION);
            region.set(ValueLayout.JAVA_INT, 0, slot);
            region.set(ValueLayout.JAVA_INT, 4, 0);
            region.set(ValueLayout.JAVA_LONG, 8, guestAddress);
            region.set(ValueLayout.JAVA_LONG, 16, host.byteSize());
            region.set(ValueLayout.JAVA_LONG, 24, host.address());
            Libc.ioctl(fd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, region, "KVM_SET_USER_MEMORY_REGION");
        }
    }

    /** KVM_SET_TSS_ADDR: three pages of guest-physical space KVM may use for the real-mode TSS on Intel. */
    public void setTssAddress(long address) {
        Libc.ioctl(fd, KvmIoctls.KVM_SET_TSS_ADDR, address, "KVM_SET_TSS_ADDR");
    }

    /** KVM_SET_IDENTITY_MAP_ADDR: one page for the EPT identity map on Intel (before creating vCPUs). */
    public void setIdentityMapAddress(long address) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment value = call.allocateFrom(ValueLayout.JAVA_LONG, address);
            Libc.ioctl(fd, KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR, value, "KVM_SET_IDENTITY_MAP_ADDR");
        }
    }

    /** KVM_CREATE_IRQCHIP: in-kernel 8259 PICs, IOAPIC, and a local APIC per vCPU created afterwards. */
    public void createIrqchip() {
        Libc.ioctl(fd, KvmIoctls.KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
    }

    /** KVM_CREATE_PIT2: in-kernel i8254 timer on ports 0x40-0x43 (needs the irqchip first). */
    public void createPit2() {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment config = call.allocate(KvmStructs.PIT_CONFIG);
            Libc.ioctl(fd, KvmIoctls.KVM_CREATE_PIT2, config, "KVM_CREATE_PIT2");
        }
    }

    /**
     * KVM_IRQ_LINE: drives GSI {@code irq} of the in-kernel irqchip high or low, from the calling thread, at once.
     * The machine uses it for lines raised on a vCPU thread inside an exit, and irqfds ({@link #assignIrqfd}) for
     * lines raised from any other thread.
     */
    public synchronized void setIrqLine(int irq, boolean level) {
        if (closed) {
            throw new IllegalStateException("the VM is closed"); // its descriptor's number may be another file's
        }
        irqLevel.set(ValueLayout.JAVA_INT, 0, irq);
        irqLevel.set(ValueLayout.JAVA_INT, 4, level ? 1 : 0);
        Libc.ioctl(fd, KvmIoctls.KVM_IRQ_LINE, irqLevel, "KVM_IRQ_LINE");
    }

    /**
     * KVM_IRQFD (api.rst §4.75): each write to eventfd {@code eventFd} injects GSI {@code gsi}, from any thread and
     * without KVM_IRQ_LINE. Without a resample eventfd the GSI gets a pulse (raised, then lowered): an edge, which is
     * what the MP table declares for every pin Panavisor uses. The registration ends with the VM.
     */
    public void assignIrqfd(int eventFd, int gsi) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment irqfd = call.allocate(KvmStructs.IRQFD);
            irqfd.set(ValueLayout.JAVA_INT, 0, eventFd);
            irqfd.set(ValueLayout.JAVA_INT, 4, gsi);
            Libc.ioctl(fd, KvmIoctls.KVM_IRQFD, irqfd, "KVM_IRQFD");
        }
    }

    /**
     * KVM_REGISTER_COALESCED_MMIO with {@code pio} set (api.rst, KVM_(UN)REGISTER_COALESCED_MMIO): the guest's writes
     * to ports [{@code port}, {@code port + size}) are recorded in the VM's coalesced ring instead of exiting to
     * user space; reads still exit. Returns the ring, which the caller must drain before handling each exit
     * ({@link CoalescedRing}), or null when this KVM cannot coalesce port writes (no KVM_CAP_COALESCED_PIO, or it
     * refuses the range): they then exit as before. Needs a vCPU already created: the ring is mapped in each vCPU's
     * mmap area, and stays valid until the VM is closed. The registration ends with the VM.
     */
    public CoalescedRing coalescePortWrites(int port, int size) {
        return kvm.has(KvmCap.COALESCED_PIO) ? coalesce(port, size, true) : null;
    }

    /**
     * As {@link #coalescePortWrites}, for guest-physical MMIO [{@code address}, {@code address + size}) (the zone
     * without {@code pio}; KVM_CAP_COALESCED_MMIO). Every registration of a VM shares its one ring, the object
     * returned here and there.
     */
    public CoalescedRing coalesceMmioWrites(long address, int size) {
        return coalesce(address, size, false);
    }

    private CoalescedRing coalesce(long address, int size, boolean pio) {
        int pageOffset = kvm.checkExtension(KvmCap.COALESCED_MMIO);
        if (pageOffset <= 0 || vcpus.isEmpty()) {
            return null;
        }
        if (coalescedRing == null) {
            MemorySegment page = vcpus.getFirst().mmapPage(pageOffset);
            if (page == null) {
                return null;
            }
            coalescedRing = new CoalescedRing(page);
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment zone = call.allocate(KvmStructs.COALESCED_MMIO_ZONE);
            zone.set(ValueLayout.JAVA_LONG, 0, address);
            zone.set(ValueLayout.JAVA_INT, 8, size);
            zone.set(ValueLayout.JAVA_INT, 12, pio ? 1 : 0);
            if (Libc.ioctlOrErrno(fd, KvmIoctls.KVM_REGISTER_COALESCED_MMIO, zone) < 0) {
                return null; // an optimization only: without it the writes exit
            }
        }
        return coalescedRing;
    }

    /** kvm_ioeventfd.flags: only a write of exactly {@code datamatch} signals the eventfd. */
    private static final int IOEVENTFD_FLAG_DATAMATCH = 1;

    /**
     * KVM_IOEVENTFD (api.rst §4.59): a guest write of {@code length} bytes with value {@code datamatch} to MMIO
     * {@code address} signals {@code eventFd} inside KVM and returns to the guest, with no exit to user space. Other
     * values written there still exit as usual. Used for virtqueue notifications (QueueNotify, datamatch = queue
     * index). The registration ends with the VM.
     */
    public void assignIoeventfd(long address, int length, long datamatch, int eventFd) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment ioeventfd = call.allocate(KvmStructs.IOEVENTFD);
            ioeventfd.set(ValueLayout.JAVA_LONG, 0, datamatch);
            ioeventfd.set(ValueLayout.JAVA_LONG, 8, address);
            ioeventfd.set(ValueLayout.JAVA_INT, 16, length);
            ioeventfd.set(ValueLayout.JAVA_INT, 20, eventFd);
            ioeventfd.set(ValueLayout.JAVA_INT, 24, IOEVENTFD_FLAG_DATAMATCH);
            Libc.ioctl(fd, KvmIoctls.KVM_IOEVENTFD, ioeventfd, "KVM_IOEVENTFD");
        }
    }

    /** KVM_CREATE_VCPU with the given id (which is also its initial APIC ID), and maps its kvm_run page. */
    public Vcpu createVcpu(int id) {
        int vcpuFd = Libc.ioctl(fd, KvmIoctls.KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU(" + id + ")");
        Vcpu vcpu;
        try {
            vcpu = new Vcpu(id, vcpuFd, vcpuMmapSize);
        } catch (RuntimeException e) {
            Libc.close(vcpuFd);
            throw e;
        }
        vcpus.add(vcpu);
        return vcpu;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            for (Vcpu vcpu : vcpus) {
                vcpu.close();
            }
            Libc.close(fd);
        }
    }
}
