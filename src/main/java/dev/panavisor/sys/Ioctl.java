package dev.panavisor.sys;

/**
 * Builds ioctl request numbers the way Linux's asm-generic/ioctl.h does on x86:
 * {@code dir << 30 | size << 16 | type << 8 | nr}, with 2 direction bits (write = 1, read = 2 — named from
 * user space's point of view), 14 size bits, 8 type bits and 8 number bits.
 */
public final class Ioctl {
    private Ioctl() {
    }

    private static final int NR_BITS = 8;
    private static final int TYPE_BITS = 8;
    private static final int SIZE_BITS = 14;
    private static final int NR_SHIFT = 0;
    private static final int TYPE_SHIFT = NR_SHIFT + NR_BITS;
    private static final int SIZE_SHIFT = TYPE_SHIFT + TYPE_BITS;
    private static final int DIR_SHIFT = SIZE_SHIFT + SIZE_BITS;

    public static final int NONE = 0;
    public static final int WRITE = 1;
    public static final int READ = 2;

    /** {@code _IOC(dir, type, nr, size)}. */
    public static long ioc(int dir, int type, int nr, long size) {
        if (size < 0 || size >= (1L << SIZE_BITS)) {
            throw new IllegalArgumentException("ioctl argument size out of range: " + size);
        }
        return ((long) dir << DIR_SHIFT) | (size << SIZE_SHIFT) | ((long) type << TYPE_SHIFT) | ((long) nr << NR_SHIFT);
    }

    /** {@code _IO(type, nr)}: no argument struct (the argument, if any, is passed by value). */
    public static long io(int type, int nr) {
        return ioc(NONE, type, nr, 0);
    }

    /** {@code _IOR(type, nr, size)}: the kernel writes a struct of {@code size} bytes back. */
    public static long ior(int type, int nr, long size) {
        return ioc(READ, type, nr, size);
    }

    /** {@code _IOW(type, nr, size)}: the kernel reads a struct of {@code size} bytes. */
    public static long iow(int type, int nr, long size) {
        return ioc(WRITE, type, nr, size);
    }

    /** {@code _IOWR(type, nr, size)}: both. */
    public static long iowr(int type, int nr, long size) {
        return ioc(READ | WRITE, type, nr, size);
    }
}
