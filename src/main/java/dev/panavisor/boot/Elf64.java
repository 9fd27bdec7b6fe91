package dev.panavisor.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The parts of an ELF64 little-endian file a kernel loader needs: the file header, the program headers and the
 * notes inside PT_NOTE segments (System V ABI, "ELF-64 Object File Format" 1.5: §3 file header, §6 program
 * header table; notes as in the gABI "Note Section").
 *
 * <p>Every offset and size read from the file is checked against the file's length before use: a damaged or
 * hostile file gives a {@link KernelFormatException}, never an exception from the buffer.
 */
public record Elf64(int type, int machine, long entry, List<ProgramHeader> programHeaders) {

    public static final int PT_LOAD = 1;
    public static final int PT_NOTE = 4;
    public static final int EM_X86_64 = 62;
    public static final int ET_EXEC = 2;

    private static final int EI_CLASS = 4;
    private static final int EI_DATA = 5;
    private static final int ELFCLASS64 = 2;
    private static final int ELFDATA2LSB = 1;
    private static final int FILE_HEADER_SIZE = 64;
    private static final int PROGRAM_HEADER_SIZE = 56;

    /** One program header (ELF-64 §6, Figure 6). */
    public record ProgramHeader(int type, long offset, long virtualAddress, long physicalAddress, long fileSize,
            long memorySize) {
    }

    public Elf64 {
        programHeaders = List.copyOf(programHeaders);
    }

    /** True when the file starts with the ELF magic "\x7fELF" (of any class). */
    public static boolean hasMagic(ByteBuffer file) {
        return file.limit() >= 4 && file.get(0) == 0x7f && file.get(1) == 'E' && file.get(2) == 'L'
                && file.get(3) == 'F';
    }

    /** Parses the file header and program headers; the file must be ELF64, little-endian, for x86-64. */
    public static Elf64 parse(ByteBuffer file) {
        ByteBuffer le = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (!hasMagic(le)) {
            throw new KernelFormatException("not an ELF file: no \\x7fELF magic");
        }
        if (le.limit() < FILE_HEADER_SIZE) {
            throw new KernelFormatException(String.format(
                    "truncated ELF file: %d bytes, shorter than the %d-byte ELF header", le.limit(),
                    FILE_HEADER_SIZE));
        }
        if (le.get(EI_CLASS) != ELFCLASS64) {
            throw new KernelFormatException("ELF kernel is not 64-bit (ELFCLASS32?): only x86-64 kernels are supported");
        }
        if (le.get(EI_DATA) != ELFDATA2LSB) {
            throw new KernelFormatException("ELF kernel is big-endian: only x86-64 kernels are supported");
        }
        int type = Short.toUnsignedInt(le.getShort(16));
        int machine = Short.toUnsignedInt(le.getShort(18));
        if (machine != EM_X86_64) {
            throw new KernelFormatException(String.format(
                    "ELF kernel is for machine %d, not x86-64 (%d)", machine, EM_X86_64));
        }
        long entry = le.getLong(24);
        long phoff = le.getLong(32);
        int phentsize = Short.toUnsignedInt(le.getShort(54));
        int phnum = Short.toUnsignedInt(le.getShort(56));
        if (phnum == 0) {
            throw new KernelFormatException("ELF kernel has no program headers: nothing to load");
        }
        if (phentsize < PROGRAM_HEADER_SIZE) {
            throw new KernelFormatException("ELF program header size " + phentsize + " is smaller than "
                    + PROGRAM_HEADER_SIZE);
        }
        long tableSize = (long) phentsize * phnum;
        if (!fits(phoff, tableSize, le.limit())) {
            throw new KernelFormatException(String.format(
                    "truncated ELF file: program headers at 0x%x (%d bytes) lie beyond its %d bytes", phoff,
                    tableSize, le.limit()));
        }
        List<ProgramHeader> headers = new ArrayList<>(phnum);
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + (long) i * phentsize);
            headers.add(new ProgramHeader(le.getInt(at), le.getLong(at + 8), le.getLong(at + 16),
                    le.getLong(at + 24), le.getLong(at + 32), le.getLong(at + 40)));
        }
        return new Elf64(type, machine, entry, headers);
    }

    /**
     * The descriptor of the first note owned by {@code owner} with type {@code type} in the file's PT_NOTE segments,
     * if there is one. The other notes are stepped over without being copied: a hostile file's segment may hold
     * millions of them, or one of hundreds of MiB. A matching note's descriptor longer than {@code maxDescriptor}
     * bytes is damage, not read.
     */
    public Optional<byte[]> findNote(ByteBuffer file, String owner, int type, int maxDescriptor) {
        ByteBuffer le = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        byte[] ownerName = owner.getBytes(StandardCharsets.US_ASCII);
        for (ProgramHeader header : programHeaders) {
            if (header.type() != PT_NOTE) {
                continue;
            }
            if (!fits(header.offset(), header.fileSize(), le.limit())) {
                throw new KernelFormatException(String.format(
                        "truncated ELF file: note segment at 0x%x (%d bytes) lies beyond its %d bytes",
                        header.offset(), header.fileSize(), le.limit()));
            }
            long at = header.offset();
            long end = header.offset() + header.fileSize();
            // Each note: u32 namesz, u32 descsz, u32 type, name padded to 4 bytes, descriptor padded to 4 bytes.
            while (end - at >= 12) {
                long nameSize = Integer.toUnsignedLong(le.getInt((int) at));
                long descSize = Integer.toUnsignedLong(le.getInt((int) at + 4));
                int noteType = le.getInt((int) at + 8);
                long nameAt = at + 12;
                long descAt = nameAt + align4(nameSize);
                long next = descAt + align4(descSize);
                if (next > end) {
                    throw new KernelFormatException(String.format("damaged ELF note at file offset 0x%x", at));
                }
                if (noteType == type && named(le, nameAt, nameSize, ownerName)) {
                    if (descSize > maxDescriptor) {
                        throw new KernelFormatException(String.format("damaged ELF note at file offset 0x%x: a %s "
                                + "note of type %d with a descriptor of %d bytes", at, owner, type, descSize));
                    }
                    byte[] descriptor = new byte[(int) descSize];
                    le.get((int) descAt, descriptor);
                    return Optional.of(descriptor);
                }
                at = next;
            }
        }
        return Optional.empty();
    }

    /** Whether the note name at {@code at} ({@code size} bytes) is {@code name}, with or without its closing NUL. */
    private static boolean named(ByteBuffer le, long at, long size, byte[] name) {
        boolean withNul = size == name.length + 1 && le.get((int) (at + name.length)) == 0;
        if (size != name.length && !withNul) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if (le.get((int) at + i) != name[i]) {
                return false;
            }
        }
        return true;
    }

    /** [offset, offset+length) lies inside a file of {@code fileSize} bytes (overflow-safe). */
    static boolean fits(long offset, long length, long fileSize) {
        return offset >= 0 && length >= 0 && offset <= fileSize && length <= fileSize - offset;
    }

    private static long align4(long value) {
        return (value + 3) & ~3L;
    }
}
