package dev.panavisor.boot;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.OptionalLong;

/**
 * Loads an uncompressed ELF {@code vmlinux}, the kernel as the linker produced it.
 *
 * <p>There is no decompressor and no setup header: each PT_LOAD segment is copied to its <em>physical</em>
 * address {@code p_paddr} (ELF-64 §6: "p_paddr ... reserved for systems with physical addressing"), with its
 * {@code p_memsz - p_filesz} tail zeroed (that is the kernel's .bss). On x86-64 the kernel is linked to run at
 * virtual 0xffffffff8..., so {@code p_vaddr} is useless to a loader, while {@code p_paddr} says where in RAM that
 * code must sit (CONFIG_PHYSICAL_START, 16 MiB by default).
 *
 * <p><b>The entry point.</b> The 64-bit entry {@code startup_64} is position-independent until it has set up its
 * own page tables, and must be entered at its physical address with the 64-bit boot protocol's identity mapping
 * (boot.rst, "64-bit Boot Protocol"). Linux links vmlinux with {@code e_entry} already physical (the linker script
 * names {@code phys_startup_64}), but a kernel linked otherwise would put the virtual address there. So the loader
 * resolves {@code e_entry} through the segments: inside some segment's physical range, it is used as is; inside
 * some segment's virtual range, it is translated to {@code e_entry - p_vaddr + p_paddr} of that segment.
 *
 * <p><b>PVH.</b> A kernel built with CONFIG_PVH carries a Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 18, owner
 * "Xen"; Xen public/elfnote.h) whose descriptor is the physical address of a 32-bit entry that takes an
 * {@code hvm_start_info} instead of a zero page. It is recorded in {@link LoadedKernel#pvhEntryPoint()}; it becomes
 * the entry only when the 64-bit one cannot be found.
 *
 * <p>A vmlinux has no header that states its command-line limit or highest initrd address, so the values every
 * x86-64 kernel has declared in its bzImage header since protocol 2.06 are assumed (see the constants).
 */
public final class ElfKernelLoader {
    /** XEN_ELFNOTE_PHYS32_ENTRY (Xen public/elfnote.h). */
    public static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    /** COMMAND_LINE_SIZE - 1: x86 kernels have COMMAND_LINE_SIZE 2048, and declare 2047 in cmdline_size. */
    public static final long DEFAULT_CMDLINE_MAX_LENGTH = 2047;
    /** The initrd_addr_max every bzImage since protocol 2.03 declares (boot.rst, "initrd_addr_max"). */
    public static final long DEFAULT_INITRD_ADDR_MAX = 0x7fff_ffffL;

    /** x86-64 physical addresses have at most 52 bits; anything beyond is a damaged header, not a big kernel. */
    static final long MAX_PHYSICAL = 1L << 52;

    private ElfKernelLoader() {
    }

    /**
     * Copies the PT_LOAD segments of {@code image} into guest memory.
     *
     * @param image the whole vmlinux file, index 0 = first byte of the file
     */
    public static LoadedKernel load(GuestMemory memory, ByteBuffer image) {
        Elf64 elf = Elf64.parse(image);
        List<Elf64.ProgramHeader> segments = elf.programHeaders().stream()
                .filter(header -> header.type() == Elf64.PT_LOAD && header.memorySize() != 0)
                .toList();
        if (segments.isEmpty()) {
            throw new KernelFormatException("ELF kernel has no PT_LOAD segment: nothing to load");
        }
        E820Map.requireBootable(memory.size());
        long ramEnd = E820Map.ramEnd(memory.size());
        long loadStart = Long.MAX_VALUE;
        long loadEnd = 0;
        for (Elf64.ProgramHeader segment : segments) {
            checkSegment(segment, image.limit());
            loadStart = Math.min(loadStart, segment.physicalAddress());
            loadEnd = Math.max(loadEnd, segment.physicalAddress() + segment.memorySize());
        }
        checkDisjoint(segments);
        if (loadEnd > ramEnd) {
            throw new DoesNotFitException(String.format(
                    "kernel does not fit in guest memory: its segments reach 0x%x (%s) but the guest has %s",
                    loadEnd, DoesNotFitException.size(loadEnd), DoesNotFitException.size(ramEnd)));
        }
        // Validate everything before writing anything: a bad file leaves guest memory untouched.
        OptionalLong pvhEntry = pvhEntry(elf, image);
        OptionalLong entry64 = physicalEntry(elf.entry(), segments);
        if (entry64.isEmpty() && pvhEntry.isEmpty()) {
            throw new KernelFormatException(String.format(
                    "ELF kernel's entry point 0x%x lies in none of its PT_LOAD segments", elf.entry()));
        }
        for (Elf64.ProgramHeader segment : segments) {
            int fileSize = (int) segment.fileSize();
            if (fileSize > 0) {
                memory.buffer(segment.physicalAddress(), fileSize).put(image.slice((int) segment.offset(), fileSize));
            }
            memory.fill(segment.physicalAddress() + fileSize, segment.memorySize() - fileSize, (byte) 0);
        }

        boolean longMode = entry64.isPresent();
        return new LoadedKernel(
                longMode ? "ELF vmlinux" : "ELF vmlinux (PVH entry only)",
                longMode ? LoadedKernel.Mode.LONG_MODE_64 : LoadedKernel.Mode.PVH_32,
                longMode ? entry64.getAsLong() : pvhEntry.getAsLong(),
                loadStart,
                loadEnd,
                loadEnd,
                minimalSetupHeader(),
                DEFAULT_CMDLINE_MAX_LENGTH,
                DEFAULT_INITRD_ADDR_MAX,
                pvhEntry);
    }

    /** Format checks of one segment; afterwards its [p_paddr, p_paddr + p_memsz) is a sane range above 1 MiB. */
    private static void checkSegment(Elf64.ProgramHeader segment, long fileSize) {
        if (Long.compareUnsigned(segment.fileSize(), segment.memorySize()) > 0) {
            throw new KernelFormatException(String.format(
                    "damaged ELF kernel: segment at 0x%x has more file bytes (%d) than memory bytes (%d)",
                    segment.physicalAddress(), segment.fileSize(), segment.memorySize()));
        }
        if (!Elf64.fits(segment.offset(), segment.fileSize(), fileSize)) {
            throw new KernelFormatException(String.format(
                    "truncated ELF kernel: segment data at file offset 0x%x (%d bytes) lies beyond its %d bytes",
                    segment.offset(), segment.fileSize(), fileSize));
        }
        long address = segment.physicalAddress();
        if (address >= 0 && address < GuestLayout.HIGH_MEMORY_START) {
            throw new KernelFormatException(String.format(
                    "ELF kernel segment at 0x%x lies in the low megabyte, where Panavisor keeps its boot tables",
                    address));
        }
        if (address < 0 || segment.memorySize() < 0 || segment.memorySize() > MAX_PHYSICAL - address) {
            throw new KernelFormatException(String.format(
                    "damaged ELF kernel: segment at 0x%x of 0x%x bytes is not a physical address range",
                    address, segment.memorySize()));
        }
    }

    /**
     * Segments may not share physical memory: a later one would silently overwrite an earlier one's code or zeroed
     * .bss. Linux's vmlinux lays its PT_LOADs out one after the other (even .data..percpu, whose p_vaddr is 0).
     */
    private static void checkDisjoint(List<Elf64.ProgramHeader> segments) {
        List<Elf64.ProgramHeader> sorted = segments.stream()
                .sorted(java.util.Comparator.comparingLong(Elf64.ProgramHeader::physicalAddress)).toList();
        for (int i = 1; i < sorted.size(); i++) {
            Elf64.ProgramHeader before = sorted.get(i - 1);
            Elf64.ProgramHeader after = sorted.get(i);
            if (after.physicalAddress() < before.physicalAddress() + before.memorySize()) {
                throw new KernelFormatException(String.format(
                        "damaged ELF kernel: segments at 0x%x (0x%x bytes) and 0x%x overlap in physical memory",
                        before.physicalAddress(), before.memorySize(), after.physicalAddress()));
            }
        }
    }

    /** {@code entry} as a physical address inside one of the segments, or empty when it is in none. */
    static OptionalLong physicalEntry(long entry, List<Elf64.ProgramHeader> segments) {
        for (Elf64.ProgramHeader segment : segments) {
            if (within(entry, segment.physicalAddress(), segment.memorySize())) {
                return OptionalLong.of(entry);
            }
        }
        for (Elf64.ProgramHeader segment : segments) {
            if (within(entry, segment.virtualAddress(), segment.memorySize())) {
                return OptionalLong.of(entry - segment.virtualAddress() + segment.physicalAddress());
            }
        }
        return OptionalLong.empty();
    }

    private static boolean within(long address, long start, long length) {
        return Long.compareUnsigned(address - start, length) < 0;
    }

    /** The XEN_ELFNOTE_PHYS32_ENTRY descriptor: a 32-bit physical address, stored in 4 or 8 bytes. */
    static OptionalLong pvhEntry(Elf64 elf, ByteBuffer image) {
        // A longer descriptor is damage: findNote refuses it before copying it (a hostile file's may be huge).
        java.util.Optional<byte[]> note = elf.findNote(image, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, 64);
        if (note.isEmpty()) {
            return OptionalLong.empty();
        }
        byte[] descriptor = note.get();
        ByteBuffer le = ByteBuffer.wrap(descriptor).order(ByteOrder.LITTLE_ENDIAN);
        long address = switch (descriptor.length) {
            case 4 -> Integer.toUnsignedLong(le.getInt(0));
            case 8 -> le.getLong(0);
            default -> throw new KernelFormatException(
                    "damaged Xen PVH entry note: descriptor of " + descriptor.length + " bytes");
        };
        if (address < GuestLayout.HIGH_MEMORY_START || address > 0xffff_ffffL) {
            throw new KernelFormatException(String.format(
                    "Xen PVH entry note gives 0x%x, not a 32-bit address above 1 MiB", address));
        }
        return OptionalLong.of(address);
    }

    /**
     * A setup header for a kernel that has none: what the kernel checks when it reads the zero page. Linux honours
     * the initrd only when {@code type_of_loader} is non-zero (set later by {@link BootParams}); the boot flag and
     * "HdrS" are what tools inspecting the zero page look for. No protocol version is claimed (version 0).
     */
    private static byte[] minimalSetupHeader() {
        ByteBuffer header = ByteBuffer.allocate(SetupHeader.INIT_SIZE + 4 - SetupHeader.START)
                .order(ByteOrder.LITTLE_ENDIAN);
        header.putShort(SetupHeader.BOOT_FLAG - SetupHeader.START, (short) SetupHeader.BOOT_FLAG_MAGIC);
        header.putInt(SetupHeader.HEADER - SetupHeader.START, (int) SetupHeader.HDRS_MAGIC);
        header.putInt(SetupHeader.INITRD_ADDR_MAX - SetupHeader.START, (int) DEFAULT_INITRD_ADDR_MAX);
        header.putInt(SetupHeader.CMDLINE_SIZE - SetupHeader.START, (int) DEFAULT_CMDLINE_MAX_LENGTH);
        return header.array();
    }
}
