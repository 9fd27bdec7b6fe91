package dev.panavisor.lab;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the lab needs to know about one Linux kernel module (.ko): its name and the modules it depends on.
 *
 * <p>Both come from the module's {@code .modinfo} ELF section, a run of NUL-terminated {@code key=value} strings
 * that modpost writes at build time ({@code name=kvm_amd}, {@code depends=kvm,ccp}, ...). Reading them here,
 * instead of running depmod, keeps the host free of kmod and works on an unpacked package that has no
 * modules.dep (Debian generates it at install time).
 *
 * @param name    the module's name as the kernel knows it (underscores, e.g. kvm_amd for kvm-amd.ko)
 * @param depends names of the modules that must be loaded first
 */
public record KernelModule(String name, List<String> depends) {
    public KernelModule {
        name = normalize(name);
        depends = depends.stream().map(KernelModule::normalize).toList();
    }

    /** The kernel treats '-' and '_' in module names alike; file names use both (kvm-amd.ko is kvm_amd). */
    public static String normalize(String moduleName) {
        return moduleName.replace('-', '_');
    }

    /** Module name implied by a file name: "kvm-amd.ko" and "kvm-amd.ko.xz" are kvm_amd. */
    public static String nameOfFile(String fileName) {
        String base = fileName;
        int ko = base.indexOf(".ko");
        if (ko > 0) {
            base = base.substring(0, ko);
        }
        return normalize(base);
    }

    /**
     * Reads name and depends from an uncompressed .ko image. {@code fallbackName} is used when the module has no
     * {@code name=} entry (older kernels did not always write one).
     */
    public static KernelModule parse(byte[] elf, String fallbackName) {
        String name = normalize(fallbackName);
        List<String> depends = List.of();
        for (String entry : modinfoEntries(elf)) {
            if (entry.startsWith("name=")) {
                name = entry.substring(5);
            } else if (entry.startsWith("depends=")) {
                String value = entry.substring(8);
                depends = value.isEmpty() ? List.of() : Arrays.asList(value.split(","));
            }
        }
        return new KernelModule(name, depends);
    }

    /**
     * The NUL-separated strings of the {@code .modinfo} section (System V ABI, ELF-64 object file format: ELF
     * header, section header table, section name string table).
     */
    static List<String> modinfoEntries(byte[] elf) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        if (elf.length < 64 || b.getInt(0) != 0x464c457f) {
            throw new LabException("not an ELF file (a kernel module must be an uncompressed ELF object)");
        }
        if (elf[4] != 2 || elf[5] != 1) {
            throw new LabException("not a 64-bit little-endian ELF file");
        }
        long sectionTable = b.getLong(0x28);
        int entrySize = Short.toUnsignedInt(b.getShort(0x3a));
        int count = Short.toUnsignedInt(b.getShort(0x3c));
        int namesIndex = Short.toUnsignedInt(b.getShort(0x3e));
        if (entrySize < 64 || namesIndex >= count || sectionTable + (long) count * entrySize > elf.length) {
            throw new LabException("ELF section header table out of bounds");
        }
        long namesOffset = b.getLong((int) (sectionTable + (long) namesIndex * entrySize) + 24);
        for (int i = 0; i < count; i++) {
            int header = (int) (sectionTable + (long) i * entrySize);
            String sectionName = cString(elf, namesOffset + Integer.toUnsignedLong(b.getInt(header)));
            if (sectionName.equals(".modinfo")) {
                long offset = b.getLong(header + 24);
                long size = b.getLong(header + 32);
                if (offset < 0 || size < 0 || offset + size > elf.length) {
                    throw new LabException(".modinfo section out of bounds");
                }
                return splitNul(elf, (int) offset, (int) size);
            }
        }
        return List.of();
    }

    private static String cString(byte[] data, long offset) {
        if (offset < 0 || offset >= data.length) {
            throw new LabException("ELF string offset out of bounds");
        }
        int end = (int) offset;
        while (end < data.length && data[end] != 0) {
            end++;
        }
        return new String(data, (int) offset, end - (int) offset, StandardCharsets.US_ASCII);
    }

    private static List<String> splitNul(byte[] data, int offset, int size) {
        List<String> entries = new ArrayList<>();
        int start = offset;
        for (int i = offset; i < offset + size; i++) {
            if (data[i] == 0) {
                if (i > start) {
                    entries.add(new String(data, start, i - start, StandardCharsets.UTF_8));
                }
                start = i + 1;
            }
        }
        return entries;
    }
}
