package dev.panavisor.boot;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Builds kernel files byte by byte for loader tests: bzImages with chosen header fields, and ELF64 files. */
public final class SyntheticKernels {
    private SyntheticKernels() {
    }

    /** A bzImage whose fields default to what a modern x86-64 kernel declares; change them before {@link #build}. */
    public static final class BzImage {
        public int setupSects = 4;
        public int version = 0x020f;
        int loadFlags = SetupHeader.LOADED_HIGH;
        int xloadFlags = SetupHeader.XLF_KERNEL_64 | SetupHeader.XLF_CAN_BE_LOADED_ABOVE_4G;
        boolean relocatable = true;
        public long kernelAlignment = 0x20_0000;
        long prefAddress = 0x100_0000;
        public long initSize = 0x80_0000;
        public int syssizeExtra;
        long cmdlineSize = 2047;
        long initrdAddrMax = 0x7fff_ffffL;
        /** The header's end: 0x202 + this jump displacement (0x66 puts it at 0x268, as kernels do). */
        int jumpDisplacement = 0x66;
        public byte[] payload = pattern(8192, 7);

        public ByteBuffer build() {
            int setupBytes = ((setupSects == 0 ? 4 : setupSects) + 1) * 512;
            ByteBuffer file = ByteBuffer.allocate(setupBytes + payload.length).order(ByteOrder.LITTLE_ENDIAN);
            file.put(SetupHeader.SETUP_SECTS, (byte) setupSects);
            file.putInt(SetupHeader.SYSSIZE, (payload.length + 15) / 16 + syssizeExtra);
            file.putShort(SetupHeader.BOOT_FLAG, (short) 0xaa55);
            file.put(SetupHeader.JUMP, (byte) 0xeb); // jmp short over the header
            file.put(SetupHeader.JUMP + 1, (byte) jumpDisplacement);
            file.put(SetupHeader.HEADER, "HdrS".getBytes(StandardCharsets.US_ASCII));
            file.putShort(SetupHeader.VERSION, (short) version);
            file.put(SetupHeader.LOADFLAGS, (byte) loadFlags);
            file.putInt(SetupHeader.CODE32_START, 0x100000);
            file.putInt(SetupHeader.INITRD_ADDR_MAX, (int) initrdAddrMax);
            file.putInt(SetupHeader.KERNEL_ALIGNMENT, (int) kernelAlignment);
            file.put(SetupHeader.RELOCATABLE_KERNEL, (byte) (relocatable ? 1 : 0));
            file.putShort(SetupHeader.XLOADFLAGS, (short) xloadFlags);
            file.putInt(SetupHeader.CMDLINE_SIZE, (int) cmdlineSize);
            file.putLong(SetupHeader.PREF_ADDRESS, prefAddress);
            file.putInt(SetupHeader.INIT_SIZE, (int) initSize);
            file.put(setupBytes, payload);
            return file.rewind();
        }
    }

    /** An ELF64 x86-64 executable with the given segments and notes. */
    public static final class Elf {
        record Segment(long physicalAddress, long virtualAddress, byte[] data, long memorySize) {
        }

        public long entry = 0x100_0000;
        public int elfClass = 2;
        public int machine = Elf64.EM_X86_64;
        final List<Segment> segments = new ArrayList<>();
        final List<byte[]> notes = new ArrayList<>();

        public Elf segment(long physicalAddress, long virtualAddress, byte[] data, long memorySize) {
            segments.add(new Segment(physicalAddress, virtualAddress, data, memorySize));
            return this;
        }

        /** Adds a note with owner {@code name}, {@code type} and descriptor. */
        Elf note(String name, int type, byte[] descriptor) {
            byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.US_ASCII);
            ByteBuffer note = ByteBuffer.allocate(12 + align4(nameBytes.length) + align4(descriptor.length))
                    .order(ByteOrder.LITTLE_ENDIAN);
            note.putInt(nameBytes.length).putInt(descriptor.length).putInt(type);
            note.put(nameBytes);
            note.position(12 + align4(nameBytes.length));
            note.put(descriptor);
            notes.add(note.array());
            return this;
        }

        public ByteBuffer build() {
            ByteArrayOutputStream noteBytes = new ByteArrayOutputStream();
            notes.forEach(noteBytes::writeBytes);
            int phnum = segments.size() + (notes.isEmpty() ? 0 : 1);
            int dataStart = 64 + 56 * phnum;
            int size = dataStart + noteBytes.size() + segments.stream().mapToInt(s -> s.data().length).sum();
            ByteBuffer file = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
            file.put(new byte[] {0x7f, 'E', 'L', 'F', (byte) elfClass, 1, 1});
            file.putShort(16, (short) Elf64.ET_EXEC);
            file.putShort(18, (short) machine);
            file.putInt(20, 1);
            file.putLong(24, entry);
            file.putLong(32, 64);      // e_phoff
            file.putShort(52, (short) 64);
            file.putShort(54, (short) 56);
            file.putShort(56, (short) phnum);
            int header = 64;
            int data = dataStart;
            if (!notes.isEmpty()) {
                programHeader(file, header, Elf64.PT_NOTE, data, 0, 0, noteBytes.size(), 0);
                file.put(data, noteBytes.toByteArray());
                header += 56;
                data += noteBytes.size();
            }
            for (Segment segment : segments) {
                programHeader(file, header, Elf64.PT_LOAD, data, segment.virtualAddress(), segment.physicalAddress(),
                        segment.data().length, segment.memorySize());
                file.put(data, segment.data());
                header += 56;
                data += segment.data().length;
            }
            return file.rewind();
        }

        private static void programHeader(ByteBuffer file, int at, int type, long offset, long vaddr, long paddr,
                long fileSize, long memorySize) {
            file.putInt(at, type);
            file.putInt(at + 4, 5); // R+X
            file.putLong(at + 8, offset);
            file.putLong(at + 16, vaddr);
            file.putLong(at + 24, paddr);
            file.putLong(at + 32, fileSize);
            file.putLong(at + 40, memorySize);
            file.putLong(at + 48, 0x20_0000);
        }

        private static int align4(int value) {
            return (value + 3) & ~3;
        }
    }

    /** {@code length} bytes of a recognisable, seed-dependent pattern. */
    public static byte[] pattern(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (i * 31 + seed);
        }
        return bytes;
    }

    /** The first {@code length} bytes of {@code buffer} as a new buffer (a truncated file). */
    static ByteBuffer truncate(ByteBuffer buffer, int length) {
        return buffer.duplicate().limit(length).slice();
    }
}
