package dev.panavisor.boot;

import dev.panavisor.memory.GuestLayout;
import java.util.List;

/**
 * The guest's physical memory map as the BIOS "e820" call would report it: which ranges are usable RAM and which
 * are reserved. Linux reads it from the zero page (zero-page.rst: {@code e820_entries} at 0x1e8, {@code
 * e820_table} at 0x2d0, 20 bytes per entry: u64 address, u64 size, u32 type) before it touches any memory of its
 * own.
 *
 * <p>A Panavisor guest's map is always the same three ranges:
 * <pre>
 * [0, EBDA)              RAM        conventional memory: zero page, page tables, command line live here
 * [EBDA, 1 MiB)          reserved   EBDA (MP table) and the legacy VGA/ROM hole
 * [1 MiB, RAM end)       RAM        kernel, initrd, everything else
 * </pre>
 * RAM end is the guest memory size, capped at {@link GuestLayout#RAM_LIMIT} where the MMIO devices start: memory
 * above that would collide with device registers, so it is not reported (and the VMM should not allocate it).
 */
public record E820Map(List<Entry> entries) {
    /** Entry types (ACPI 6.5 §15, "Address Range Types"; the same numbers e820 has always used). */
    public enum Type {
        RAM(1), RESERVED(2);

        public final int code;

        Type(int code) {
            this.code = code;
        }
    }

    public record Entry(long address, long size, Type type) {
        public long end() {
            return address + size;
        }
    }

    /** The EBDA starts where the MP table is placed (see {@link GuestLayout}). */
    static final long EBDA_START = GuestLayout.MPTABLE_ADDRESS;

    /**
     * The smallest guest memory Panavisor will try to boot: the low megabyte plus room for a kernel. Far below
     * what a real kernel needs; the loaders then check the actual kernel's size.
     */
    public static final long MINIMUM_MEMORY = GuestLayout.HIGH_MEMORY_START + (1L << 20);

    public E820Map {
        entries = List.copyOf(entries);
    }

    /** The map of a guest with {@code memorySize} bytes of RAM starting at address 0. */
    public static E820Map forMemorySize(long memorySize) {
        requireBootable(memorySize);
        return new E820Map(List.of(
                new Entry(0, EBDA_START, Type.RAM),
                new Entry(EBDA_START, GuestLayout.HIGH_MEMORY_START - EBDA_START, Type.RESERVED),
                new Entry(GuestLayout.HIGH_MEMORY_START, ramEnd(memorySize) - GuestLayout.HIGH_MEMORY_START,
                        Type.RAM)));
    }

    /** End (exclusive) of the RAM the guest may use: the memory size, capped where MMIO starts. */
    public static long ramEnd(long memorySize) {
        return Math.min(memorySize, GuestLayout.RAM_LIMIT);
    }

    /** Throws {@link DoesNotFitException} when a guest of {@code memorySize} bytes cannot even start to boot. */
    public static void requireBootable(long memorySize) {
        if (memorySize < MINIMUM_MEMORY) {
            throw new DoesNotFitException(String.format(
                    "guest memory of %s is too small: at least %s is needed (the low megabyte plus the kernel)",
                    DoesNotFitException.size(memorySize), DoesNotFitException.size(MINIMUM_MEMORY)));
        }
    }
}
