package dev.panavisor.boot;

import java.util.OptionalLong;

/**
 * What a kernel loader put into guest memory and what the rest of the boot needs to know about it.
 *
 * <p>The loader only writes the kernel itself. The VMM then places the initrd ({@link InitrdLoader}) and the
 * command line ({@link CommandLine}), writes the zero page ({@link BootParams}) from this record, sets up the CPU
 * for {@link #mode()} and starts it at {@link #entryPoint()}.
 *
 * @param description      what was loaded, for messages ("bzImage, boot protocol 2.15")
 * @param mode             how the vCPU must be started
 * @param entryPoint       guest-physical address of the first instruction
 * @param loadAddress      guest-physical address of the first byte written
 * @param loadEnd          end (exclusive) of the bytes written, bss included
 * @param reservedEnd      end (exclusive) of all memory the kernel claims before it reads the e820 map: at least
 *                         {@code loadEnd}, more for a bzImage that decompresses itself (boot.rst, "init_size").
 *                         Nothing else may be placed in [loadAddress, reservedEnd).
 * @param setupHeader      the setup header bytes to copy into the zero page at {@link SetupHeader#START}
 *                         (a bzImage's own header, or a minimal one made up for an ELF vmlinux)
 * @param cmdlineMaxLength longest command line the kernel accepts, in bytes without the terminating NUL
 * @param initrdAddressMax highest address the initrd's last byte may occupy (boot.rst, "initrd_addr_max")
 * @param pvhEntryPoint    32-bit entry of the Xen PVH boot ABI, when the kernel has the PVH ELF note
 */
public record LoadedKernel(
        String description,
        Mode mode,
        long entryPoint,
        long loadAddress,
        long loadEnd,
        long reservedEnd,
        byte[] setupHeader,
        long cmdlineMaxLength,
        long initrdAddressMax,
        OptionalLong pvhEntryPoint) {

    /** The CPU state the kernel expects at {@link #entryPoint()}. */
    public enum Mode {
        /**
         * 64-bit long mode, paging on with the kernel, zero page and command line identity-mapped, RSI = address
         * of the zero page (boot.rst, "64-bit Boot Protocol").
         */
        LONG_MODE_64,
        /**
         * 32-bit protected mode, paging off, EBX = address of an {@code hvm_start_info} (Xen PVH boot ABI,
         * xen/include/public/arch-x86/hvm/start_info.h). Recognised, not started: Panavisor boots the 64-bit entry.
         */
        PVH_32
    }

    public LoadedKernel {
        setupHeader = setupHeader.clone();
    }

    @Override
    public byte[] setupHeader() {
        return setupHeader.clone();
    }

    @Override
    public String toString() {
        return String.format("%s: entry 0x%x (%s), loaded at [0x%x, 0x%x), reserved up to 0x%x", description,
                entryPoint, mode, loadAddress, loadEnd, reservedEnd);
    }
}
