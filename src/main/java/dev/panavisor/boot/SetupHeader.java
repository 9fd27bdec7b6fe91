package dev.panavisor.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The "real-mode kernel header" of a bzImage: the fields a boot loader reads and writes (Linux x86 boot protocol,
 * Documentation/arch/x86/boot.rst, "The real-mode kernel header" and "Details of header fields").
 *
 * <p>The header sits at the same offsets in two places: in the first sectors of the bzImage file, and inside
 * {@code struct boot_params} (the "zero page", Documentation/arch/x86/zero-page.rst, {@code hdr} at 0x1f1). That
 * is why the offsets below are absolute: they are valid in the file and in the zero page alike, and a loader's job
 * is mostly to copy the header from one to the other and fill in its own fields.
 *
 * <p>All fields are little-endian. Which fields exist depends on the protocol {@link #version()}; this record only
 * holds fields that exist from 2.12 on, the minimum {@link BzImageLoader} accepts.
 */
public record SetupHeader(
        int setupSects,
        int version,
        int loadFlags,
        long code32Start,
        long initrdAddrMax,
        long kernelAlignment,
        boolean relocatable,
        int xloadFlags,
        long cmdlineSize,
        long prefAddress,
        long initSize,
        long syssize) {

    // Offsets of the setup header fields (boot.rst, "The real-mode kernel header").
    public static final int START = 0x1f1;
    public static final int SETUP_SECTS = 0x1f1;
    public static final int SYSSIZE = 0x1f4;
    public static final int VID_MODE = 0x1fa;
    public static final int BOOT_FLAG = 0x1fe;
    public static final int JUMP = 0x200;
    public static final int HEADER = 0x202;
    public static final int VERSION = 0x206;
    public static final int TYPE_OF_LOADER = 0x210;
    public static final int LOADFLAGS = 0x211;
    public static final int CODE32_START = 0x214;
    public static final int RAMDISK_IMAGE = 0x218;
    public static final int RAMDISK_SIZE = 0x21c;
    public static final int HEAP_END_PTR = 0x224;
    public static final int CMD_LINE_PTR = 0x228;
    public static final int INITRD_ADDR_MAX = 0x22c;
    public static final int KERNEL_ALIGNMENT = 0x230;
    public static final int RELOCATABLE_KERNEL = 0x234;
    public static final int XLOADFLAGS = 0x236;
    public static final int CMDLINE_SIZE = 0x238;
    public static final int PREF_ADDRESS = 0x258;
    public static final int INIT_SIZE = 0x260;
    /**
     * The header ends before 0x290, where {@code struct boot_params} continues with other fields
     * (zero-page.rst: edd_mbr_sig_buffer at 0x290); no protocol version has a longer header.
     */
    public static final int LIMIT = 0x290;

    /** "HdrS" read as a little-endian u32 (boot.rst, field "header"). */
    public static final long HDRS_MAGIC = 0x5372_6448L;
    /** The old boot-sector signature, still at 0x1fe (boot.rst, field "boot_flag"). */
    public static final int BOOT_FLAG_MAGIC = 0xaa55;

    // loadflags bits (boot.rst, field "loadflags").
    public static final int LOADED_HIGH = 1 << 0;
    public static final int CAN_USE_HEAP = 1 << 7;
    // xloadflags bits (boot.rst, field "xloadflags", protocol 2.12+).
    public static final int XLF_KERNEL_64 = 1 << 0;
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;

    /** type_of_loader value for "a boot loader without an assigned ID" (boot.rst, field "type_of_loader"). */
    public static final int LOADER_TYPE_UNDEFINED = 0xff;

    /** True when the image carries the boot-sector signature and the "HdrS" magic of a bzImage. */
    public static boolean isPresent(ByteBuffer image) {
        ByteBuffer le = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return le.limit() >= HEADER + 4
                && Short.toUnsignedInt(le.getShort(BOOT_FLAG)) == BOOT_FLAG_MAGIC
                && Integer.toUnsignedLong(le.getInt(HEADER)) == HDRS_MAGIC;
    }

    /**
     * Reads the header fields from a bzImage that {@link #isPresent(ByteBuffer) has a header}. The caller checks
     * the version before trusting fields newer than 2.00; fields beyond the end of the file read as zero.
     */
    public static SetupHeader parse(ByteBuffer image) {
        ByteBuffer le = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int setupSects = u8(le, SETUP_SECTS);
        return new SetupHeader(
                setupSects == 0 ? 4 : setupSects, // boot.rst, "setup_sects": "If this field is 0, the real value is 4."
                u16(le, VERSION),
                u8(le, LOADFLAGS),
                u32(le, CODE32_START),
                u32(le, INITRD_ADDR_MAX),
                u32(le, KERNEL_ALIGNMENT),
                u8(le, RELOCATABLE_KERNEL) != 0,
                u16(le, XLOADFLAGS),
                u32(le, CMDLINE_SIZE),
                u64(le, PREF_ADDRESS),
                u32(le, INIT_SIZE),
                u32(le, SYSSIZE));
    }

    /**
     * Where the header ends in the file and in the zero page: 0x202 plus the byte at 0x201, which is the
     * displacement of the short jump at 0x200 over the header (boot.rst, "The real-mode kernel header": "the end
     * of the setup header can be calculated as follows: 0x0202 + byte value at offset 0x0201").
     */
    public static int end(ByteBuffer image) {
        ByteBuffer le = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return Math.min(HEADER + u8(le, JUMP + 1), LIMIT);
    }

    /** "2.15" for messages. */
    public String versionText() {
        return (version >> 8) + "." + (version & 0xff);
    }

    /** Offset of the protected-mode kernel in the file: after the boot sector and the setup sectors. */
    public long protectedModeOffset() {
        return (setupSects + 1L) * 512;
    }

    private static int u8(ByteBuffer le, int offset) {
        return offset + 1 <= le.limit() ? Byte.toUnsignedInt(le.get(offset)) : 0;
    }

    private static int u16(ByteBuffer le, int offset) {
        return offset + 2 <= le.limit() ? Short.toUnsignedInt(le.getShort(offset)) : 0;
    }

    private static long u32(ByteBuffer le, int offset) {
        return offset + 4 <= le.limit() ? Integer.toUnsignedLong(le.getInt(offset)) : 0;
    }

    private static long u64(ByteBuffer le, int offset) {
        return offset + 8 <= le.limit() ? le.getLong(offset) : 0;
    }
}
