package dev.panavisor.boot;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import java.util.Optional;

/**
 * Writes {@code struct boot_params}, the "zero page": the one 4 KiB page through which a boot loader tells the
 * kernel everything (Documentation/arch/x86/zero-page.rst for the layout, boot.rst for the header fields). In the
 * 64-bit boot protocol the kernel finds it through RSI.
 *
 * <p>The page starts zeroed: every field nobody sets means "not present" (no screen info, no EDD, no EFI, no ACPI
 * RSDP address, {@code sentinel} = 0 so the kernel trusts the rest). Then:
 * <ul>
 *   <li>the kernel's setup header is copied to 0x1f1, as the protocol says the loader must ("the setup header ...
 *       must be copied ... into the zero page");</li>
 *   <li>the loader's own header fields are filled in: {@code type_of_loader}, {@code loadflags} (CAN_USE_HEAP),
 *       {@code heap_end_ptr}, {@code vid_mode}, {@code cmd_line_ptr}, {@code ramdisk_image}/{@code
 *       ramdisk_size};</li>
 *   <li>the high halves of the 64-bit addresses go to {@code ext_cmd_line_ptr}, {@code ext_ramdisk_image} and
 *       {@code ext_ramdisk_size} (protocol 2.12, zero while everything is below 4 GiB);</li>
 *   <li>the e820 memory map goes to {@code e820_table} with its count in {@code e820_entries}.</li>
 * </ul>
 */
public final class BootParams {
    /** Size of {@code struct boot_params}: one page. */
    public static final int SIZE = 4096;

    // Zero-page offsets outside the setup header (zero-page.rst).
    public static final int EXT_RAMDISK_IMAGE = 0x0c0;
    public static final int EXT_RAMDISK_SIZE = 0x0c4;
    public static final int EXT_CMD_LINE_PTR = 0x0c8;
    public static final int E820_ENTRIES = 0x1e8;
    public static final int SENTINEL = 0x1ef;
    public static final int E820_TABLE = 0x2d0;
    /** struct boot_e820_entry: u64 addr, u64 size, u32 type, packed. */
    public static final int E820_ENTRY_SIZE = 20;
    /** E820_MAX_ENTRIES_ZEROPAGE: the table in the zero page has room for 128 entries. */
    public static final int E820_MAX_ENTRIES = 128;

    /**
     * heap_end_ptr as in boot.rst's sample boot configuration (heap_end = 0xe000, heap_end_ptr = heap_end -
     * 0x200). Only the real-mode setup code uses the heap, and a VMM skips it; the field is set, with CAN_USE_HEAP,
     * so the zero page reads like any modern loader's.
     */
    static final int HEAP_END_PTR_VALUE = 0xe000 - 0x200;
    /** vid_mode 0xffff = "normal" text mode (boot.rst, "Special command line options", vga=normal). */
    static final int VID_MODE_NORMAL = 0xffff;

    private BootParams() {
    }

    /**
     * Writes the zero page at {@link GuestLayout#BOOT_PARAMS_ADDRESS} and returns that address (for RSI).
     *
     * @param cmdlineAddress where {@link CommandLine#writeTo} put the command line
     * @param initrd         where {@link InitrdLoader} put the initrd, if there is one
     */
    public static long write(GuestMemory memory, LoadedKernel kernel, E820Map map, long cmdlineAddress,
            Optional<LoadedInitrd> initrd) {
        if (map.entries().size() > E820_MAX_ENTRIES) {
            throw new BootException("e820 map has " + map.entries().size() + " entries; the zero page holds "
                    + E820_MAX_ENTRIES);
        }
        long base = GuestLayout.BOOT_PARAMS_ADDRESS;
        memory.fill(base, SIZE, (byte) 0);
        memory.write(base + SetupHeader.START, kernel.setupHeader());

        memory.writeU8(base + SetupHeader.TYPE_OF_LOADER, SetupHeader.LOADER_TYPE_UNDEFINED);
        int loadFlags = memory.readU8(base + SetupHeader.LOADFLAGS);
        memory.writeU8(base + SetupHeader.LOADFLAGS, loadFlags | SetupHeader.CAN_USE_HEAP);
        memory.writeU16(base + SetupHeader.HEAP_END_PTR, HEAP_END_PTR_VALUE);
        memory.writeU16(base + SetupHeader.VID_MODE, VID_MODE_NORMAL);

        memory.writeU32(base + SetupHeader.CMD_LINE_PTR, (int) cmdlineAddress);
        memory.writeU32(base + EXT_CMD_LINE_PTR, (int) (cmdlineAddress >>> 32));
        if (initrd.isPresent()) {
            LoadedInitrd ramdisk = initrd.get();
            memory.writeU32(base + SetupHeader.RAMDISK_IMAGE, (int) ramdisk.address());
            memory.writeU32(base + EXT_RAMDISK_IMAGE, (int) (ramdisk.address() >>> 32));
            memory.writeU32(base + SetupHeader.RAMDISK_SIZE, (int) ramdisk.size());
            memory.writeU32(base + EXT_RAMDISK_SIZE, (int) (ramdisk.size() >>> 32));
        }

        memory.writeU8(base + E820_ENTRIES, map.entries().size());
        long entry = base + E820_TABLE;
        for (E820Map.Entry e : map.entries()) {
            memory.writeU64(entry, e.address());
            memory.writeU64(entry + 8, e.size());
            memory.writeU32(entry + 16, e.type().code);
            entry += E820_ENTRY_SIZE;
        }
        return base;
    }
}
