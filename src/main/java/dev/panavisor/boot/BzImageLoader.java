package dev.panavisor.boot;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.util.OptionalLong;

/**
 * Loads a bzImage for the 64-bit boot protocol (Linux x86 boot protocol, Documentation/arch/x86/boot.rst).
 *
 * <p>A bzImage is three things in one file: a 512-byte boot sector whose tail holds the setup header, the
 * real-mode setup code ({@code setup_sects} sectors), and the protected-mode kernel, itself a small decompressor
 * with the compressed kernel inside. A BIOS boot loader runs the real-mode code; a VMM does not. It skips straight
 * to the "64-bit Boot Protocol": copy the protected-mode part into memory, fill in a zero page, and start the CPU
 * in long mode at the load address + 0x200, where the decompressor's 64-bit entry {@code startup_64} lives.
 *
 * <p>What is checked, in order, each with its own one-line error:
 * <ol>
 *   <li>the header is there ("HdrS" at 0x202, 0xAA55 at 0x1fe) and the file holds the whole setup area;</li>
 *   <li>protocol version ≥ 2.12: {@code xloadflags}, which says whether the 64-bit entry exists, appeared in 2.12
 *       (Linux 3.8); an older header cannot promise it, so there is nothing lower worth supporting;</li>
 *   <li>{@code XLF_KERNEL_64} is set (a 32-bit kernel has no 64-bit entry), and {@code LOADED_HIGH} is set (a
 *       zImage would have to be loaded at 0x10000, in the middle of Panavisor's low-memory tables);</li>
 *   <li>the file is as long as {@code syssize} says (a truncated download fails here, not inside the guest);</li>
 *   <li>everything the kernel needs before it reads the e820 map fits in guest RAM (boot.rst, "init_size").</li>
 * </ol>
 */
public final class BzImageLoader {
    /** Protocol 2.12: first version with xloadflags (boot.rst, "THE LINUX/x86 BOOT PROTOCOL" version list). */
    public static final int MINIMUM_VERSION = 0x020c;
    /** The 64-bit entry is 0x200 bytes into the protected-mode kernel (boot.rst, "64-bit Boot Protocol"). */
    public static final long ENTRY_64_OFFSET = 0x200;

    private BzImageLoader() {
    }

    /**
     * Copies the protected-mode kernel of {@code image} to {@link GuestLayout#KERNEL_ADDRESS}.
     *
     * @param image the whole bzImage file, index 0 = first byte of the file
     */
    public static LoadedKernel load(GuestMemory memory, ByteBuffer image) {
        if (!SetupHeader.isPresent(image)) {
            throw new KernelFormatException("not a bzImage: no \"HdrS\" setup header at offset 0x202");
        }
        int fileSize = image.limit();
        int headerEnd = SetupHeader.end(image);
        if (fileSize < headerEnd) {
            throw new KernelFormatException(String.format(
                    "truncated bzImage: the setup header ends at 0x%x but the file has only %d bytes", headerEnd,
                    fileSize));
        }
        SetupHeader header = SetupHeader.parse(image);
        checkProtocol(header);
        if (headerEnd < SetupHeader.INIT_SIZE + 4) {
            // The jump at 0x200 skips the whole header; protocol 2.10+ headers reach at least past init_size.
            throw new KernelFormatException(String.format(
                    "damaged bzImage: its setup header ends at 0x%x, before the fields protocol %s has", headerEnd,
                    header.versionText()));
        }

        long payloadOffset = header.protectedModeOffset();
        // syssize counts 16-byte paragraphs (boot.rst, "syssize"); the kernel's build tool pads the protected-mode
        // part to exactly that length, so a shorter file is truncated. A longer one is fine: signing tools append.
        long payloadSize = header.syssize() * 16;
        if (payloadOffset >= fileSize || payloadSize == 0 || payloadOffset + payloadSize > fileSize) {
            throw new KernelFormatException(String.format(
                    "truncated bzImage: the header announces %d setup sectors and %s of kernel after them "
                            + "(%d bytes in all) but the file has only %d bytes",
                    header.setupSects(), DoesNotFitException.size(payloadSize), payloadOffset + payloadSize,
                    fileSize));
        }
        if (payloadSize <= ENTRY_64_OFFSET) {
            throw new KernelFormatException(String.format("damaged bzImage: its kernel of %d bytes ends before the "
                    + "64-bit entry at 0x%x into it", payloadSize, ENTRY_64_OFFSET));
        }

        long loadAddress = GuestLayout.KERNEL_ADDRESS;
        long runtimeStart = runtimeStart(header, loadAddress);
        long loadEnd = loadAddress + payloadSize;
        long reservedEnd = Math.max(loadEnd, runtimeStart + header.initSize());
        E820Map.requireBootable(memory.size());
        long ramEnd = E820Map.ramEnd(memory.size());
        if (reservedEnd > ramEnd) {
            throw new DoesNotFitException(String.format(
                    "kernel does not fit in guest memory: it needs RAM up to 0x%x (%s; it decompresses to 0x%x and "
                            + "needs %s there) but the guest has %s",
                    reservedEnd, DoesNotFitException.size(reservedEnd), runtimeStart,
                    DoesNotFitException.size(header.initSize()), DoesNotFitException.size(ramEnd)));
        }

        ByteBuffer payload = image.slice((int) payloadOffset, (int) payloadSize);
        memory.buffer(loadAddress, (int) payloadSize).put(payload);

        byte[] setupHeader = new byte[headerEnd - SetupHeader.START];
        image.get(SetupHeader.START, setupHeader);
        return new LoadedKernel(
                "bzImage, boot protocol " + header.versionText(),
                LoadedKernel.Mode.LONG_MODE_64,
                loadAddress + ENTRY_64_OFFSET,
                loadAddress,
                loadEnd,
                reservedEnd,
                setupHeader,
                header.cmdlineSize(),
                header.initrdAddrMax(),
                OptionalLong.empty());
    }

    private static void checkProtocol(SetupHeader header) {
        if (header.version() < MINIMUM_VERSION) {
            throw new KernelFormatException(String.format(
                    "bzImage uses boot protocol %s; Panavisor needs 2.12 or later (Linux 3.8+) for the 64-bit entry",
                    header.versionText()));
        }
        if ((header.xloadFlags() & SetupHeader.XLF_KERNEL_64) == 0) {
            throw new KernelFormatException(
                    "bzImage has no 64-bit entry point (XLF_KERNEL_64 not set in xloadflags): a 32-bit kernel?");
        }
        if ((header.loadFlags() & SetupHeader.LOADED_HIGH) == 0) {
            throw new KernelFormatException(
                    "zImage (LOADED_HIGH not set) is not supported: the kernel must be a bzImage");
        }
    }

    /**
     * Where the kernel will decompress itself and run, which is where {@code init_size} bytes must be free
     * (boot.rst, "init_size"): a relocatable kernel runs at the load address or {@code pref_address}, whichever
     * is higher, rounded up to {@code kernel_alignment}; any other kernel moves itself to {@code pref_address}.
     */
    static long runtimeStart(SetupHeader header, long loadAddress) {
        long start;
        if (header.relocatable()) {
            long alignment = header.kernelAlignment();
            if (alignment == 0 || Long.bitCount(alignment) != 1) {
                throw new KernelFormatException(String.format(
                        "bzImage has a bad kernel_alignment 0x%x (must be a power of two)", alignment));
            }
            start = Math.max(loadAddress, header.prefAddress());
            start = (start + alignment - 1) & -alignment;
        } else {
            start = header.prefAddress() != 0 ? header.prefAddress() : loadAddress;
        }
        if (start < GuestLayout.HIGH_MEMORY_START || start > GuestLayout.RAM_LIMIT) {
            throw new KernelFormatException(String.format(
                    "bzImage wants to run at 0x%x, outside the RAM above 1 MiB where Panavisor can put it", start));
        }
        return start;
    }
}
