package dev.panavisor.kvm;

import static dev.panavisor.kvm.abi.KvmIoctls.KVM_API_VERSION;

import dev.panavisor.kvm.abi.KvmCap;
import dev.panavisor.kvm.abi.KvmIoctls;
import dev.panavisor.kvm.abi.KvmStructs;
import dev.panavisor.sys.Errno;
import dev.panavisor.sys.Libc;
import dev.panavisor.sys.NativeCallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An open /dev/kvm: the system-level handle. Checks the API version on open, answers capability questions, and
 * creates VMs (Documentation/virt/kvm/api.rst §4, "system ioctls").
 */
public final class Kvm implements AutoCloseable {
    private final Path device;
    private final int fd;
    private boolean closed;

    private Kvm(Path device, int fd) {
        this.device = device;
        this.fd = fd;
    }

    /**
     * Links, on the calling thread, the native calls that opening KVM and running a VM make, without opening
     * anything ({@link Libc#linkAhead}); {@code run} calls it on a thread of its own while it parses its options.
     */
    public static void linkAhead() {
        Libc.linkAhead();
        CoalescedRing.linkAhead();
    }

    /** Opens /dev/kvm. */
    public static Kvm open() {
        return open(KvmHost.DEFAULT_DEVICE);
    }

    /**
     * Opens {@code device} read-write and checks that it speaks KVM API version 12. Failures become a
     * {@link KvmException} whose message says what is wrong and what to do about it.
     */
    public static Kvm open(Path device) {
        int fd;
        try {
            fd = Libc.open(device.toString(), Libc.O_RDWR);
        } catch (NativeCallException e) {
            throw new KvmException(explainOpenFailure(device, e.errno()) , e);
        }
        Kvm kvm = new Kvm(device, fd);
        int version;
        try {
            version = Libc.ioctl(fd, KvmIoctls.KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
        } catch (NativeCallException e) {
            kvm.close();
            throw new KvmException(device + " is not a KVM device: " + e.getMessage(), e);
        }
        if (version != KVM_API_VERSION) {
            kvm.close();
            throw new KvmException(device + " speaks KVM API version " + version + "; Panavisor needs "
                    + KVM_API_VERSION);
        }
        return kvm;
    }

    static String explainOpenFailure(Path device, int errno) {
        return switch (errno) {
            case Errno.ENOENT -> device + " does not exist: KVM is not available on this host "
                    + "(enable virtualization in the firmware and load kvm_intel or kvm_amd, or use 'panavisor lab')";
            case Errno.EACCES, Errno.EPERM -> "no permission to open " + device
                    + " (run as root or add your user to the group that owns it, usually 'kvm')";
            case Errno.ENODEV -> device + " exists but no KVM driver answers it";
            default -> "cannot open " + device + ": " + Libc.strerror(errno) + " (errno " + errno + ")";
        };
    }

    public Path device() {
        return device;
    }

    public int apiVersion() {
        return Libc.ioctl(fd, KvmIoctls.KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
    }

    /** KVM_CHECK_EXTENSION: 0 when absent, otherwise 1 or a capability-specific number. */
    public int checkExtension(KvmCap cap) {
        return Libc.ioctl(fd, KvmIoctls.KVM_CHECK_EXTENSION, cap.number(), "KVM_CHECK_EXTENSION(" + cap + ")");
    }

    public boolean has(KvmCap cap) {
        return checkExtension(cap) > 0;
    }

    /** Size of the region to mmap from a vCPU fd: struct kvm_run plus the PIO data pages after it. */
    public int vcpuMmapSize() {
        return Libc.ioctl(fd, KvmIoctls.KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
    }

    /** The CPUID leaves this host's KVM can present to a guest (KVM_GET_SUPPORTED_CPUID). */
    public List<CpuidEntry> supportedCpuid() {
        // KVM fails with E2BIG when the array is too small; start generous and grow.
        for (int capacity = 128; capacity <= 4096; capacity *= 2) {
            try (Arena arena = Arena.ofConfined()) {
                long entrySize = KvmStructs.CPUID_ENTRY2.byteSize();
                MemorySegment cpuid = arena.allocate(KvmStructs.CPUID2_HEADER.byteSize() + capacity * entrySize, 8);
                cpuid.set(ValueLayout.JAVA_INT, 0, capacity);
                int result = Libc.ioctlOrErrno(fd, KvmIoctls.KVM_GET_SUPPORTED_CPUID, cpuid);
                if (result == -Errno.E2BIG) {
                    continue;
                }
                if (result < 0) {
                    throw new NativeCallException("ioctl(KVM_GET_SUPPORTED_CPUID)", -result);
                }
                return CpuidCodec.decode(cpuid);
            }
        }
        throw new KvmException("KVM_GET_SUPPORTED_CPUID: more than 4096 CPUID entries");
    }


    /** Creates a VM (KVM_CREATE_VM, machine type 0). */
    public Vm createVm() {
        int vmFd = Libc.ioctl(fd, KvmIoctls.KVM_CREATE_VM, 0, "KVM_CREATE_VM");
        return new Vm(this, vmFd);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }

    /** Decodes and encodes struct kvm_cpuid2 arrays. */
    static final class CpuidCodec {
        private CpuidCodec() {
        }

        static List<CpuidEntry> decode(MemorySegment cpuid2) {
            int count = cpuid2.get(ValueLayout.JAVA_INT, 0);
            List<CpuidEntry> entries = new ArrayList<>(count);
            long base = KvmStructs.CPUID2_HEADER.byteSize();
            long size = KvmStructs.CPUID_ENTRY2.byteSize();
            for (int i = 0; i < count; i++) {
                MemorySegment e = cpuid2.asSlice(base + i * size, size);
                entries.add(new CpuidEntry(e.get(ValueLayout.JAVA_INT, 0), e.get(ValueLayout.JAVA_INT, 4),
                        e.get(ValueLayout.JAVA_INT, 8), e.get(ValueLayout.JAVA_INT, 12),
                        e.get(ValueLayout.JAVA_INT, 16), e.get(ValueLayout.JAVA_INT, 20),
                        e.get(ValueLayout.JAVA_INT, 24)));
            }
            return entries;
        }

        static MemorySegment encode(Arena arena, List<CpuidEntry> entries) {
            long base = KvmStructs.CPUID2_HEADER.byteSize();
            long size = KvmStructs.CPUID_ENTRY2.byteSize();
            MemorySegment cpuid2 = arena.allocate(base + entries.size() * size, 8);
            cpuid2.set(ValueLayout.JAVA_INT, 0, entries.size());
            for (int i = 0; i < entries.size(); i++) {
                CpuidEntry entry = entries.get(i);
                MemorySegment e = cpuid2.asSlice(base + i * size, size);
                e.set(ValueLayout.JAVA_INT, 0, entry.function());
                e.set(ValueLayout.JAVA_INT, 4, entry.index());
                e.set(ValueLayout.JAVA_INT, 8, entry.flags());
                e.set(ValueLayout.JAVA_INT, 12, entry.eax());
                e.set(ValueLayout.JAVA_INT, 16, entry.ebx());
                e.set(ValueLayout.JAVA_INT, 20, entry.ecx());
                e.set(ValueLayout.JAVA_INT, 24, entry.edx());
            }
            return cpuid2;
        }
    }
}
