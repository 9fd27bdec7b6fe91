package dev.panavisor.vmm;

import dev.panavisor.boot.LoadedKernel;
import dev.panavisor.memory.MappedGuestMemory;

/**
 * The guest memory a booting Linux writes first, and faulting it in ahead of the boot.
 *
 * <p>Two ranges: the kernel's own (a bzImage decompresses itself there, up to {@link LoadedKernel#reservedEnd}),
 * and the {@link #EARLY_ALLOCATIONS} bytes below the initrd, which sits at the top of RAM (InitrdLoader): memblock
 * hands out the kernel's first allocations from there, top-down (sparse_init's memory map, the first per-CPU chunk).
 *
 * <p>Why: every first touch of guest memory is a page fault the host takes for the guest. On hardware that costs
 * microseconds per page; in the nested lab some of them took up to a second and stalled about half the boots of
 * either VMM, at 2 MiB boundaries in the kernel's range and near the top of RAM (kvm-traces.md; docs/performance.md,
 * "The guest's own pace"). Faulting the ranges in first makes a cold boot no faster: the same faults come before
 * the first KVM_RUN instead, on the boot's path. A VM built ahead of its start (serve's standby) can take them while
 * it waits for InstanceStart. The host keeps that memory resident from then on; the guest would touch most of it
 * anyway.
 *
 * <p>How: MADV_POPULATE_WRITE ({@link MappedGuestMemory#populate}), which changes no byte, so the kernel and initrd
 * the loaders wrote stay as they are.
 */
public final class EarlyBootMemory {
    /** How much memory below the initrd (or the end of RAM) is faulted in. */
    static final long EARLY_ALLOCATIONS = 32L << 20;

    private EarlyBootMemory() {
    }

    /**
     * Faults in the two ranges; {@code allocationsEnd} is the initrd's start, or the end of RAM without one. Returns
     * whether both were faulted in (false on a host kernel older than 5.14, which has no MADV_POPULATE_WRITE).
     */
    static boolean faultIn(MappedGuestMemory memory, LoadedKernel kernel, long allocationsEnd) {
        boolean kernelRange = memory.populate(kernel.loadAddress(), kernel.reservedEnd() - kernel.loadAddress());
        long start = Math.max(kernel.reservedEnd(), allocationsEnd - EARLY_ALLOCATIONS);
        return kernelRange && (start >= allocationsEnd || memory.populate(start, allocationsEnd - start));
    }
}
