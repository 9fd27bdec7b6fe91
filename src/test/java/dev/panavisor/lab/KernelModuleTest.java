package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class KernelModuleTest {
    /**
     * A minimal ELF-64 relocatable file: header, then the named sections' bytes, then a section header table
     * (null section, each named section, and .shstrtab last).
     */
    static byte[] elf(String[] names, byte[][] contents) {
        ByteArrayOutputStream shstrtab = new ByteArrayOutputStream();
        shstrtab.write(0);
        int[] nameOffsets = new int[names.length + 1];
        for (int i = 0; i <= names.length; i++) {
            nameOffsets[i] = shstrtab.size();
            shstrtab.writeBytes(((i < names.length ? names[i] : ".shstrtab") + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        byte[][] all = new byte[names.length + 1][];
        System.arraycopy(contents, 0, all, 0, names.length);
        all[names.length] = shstrtab.toByteArray();
        int offset = 64;
        int[] offsets = new int[all.length];
        for (int i = 0; i < all.length; i++) {
            offsets[i] = offset;
            offset += all[i].length;
        }
        int tableOffset = (offset + 7) & ~7;
        int count = all.length + 1;
        ByteBuffer b = ByteBuffer.allocate(tableOffset + count * 64).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x464c457f).put(4, (byte) 2).put(5, (byte) 1).put(6, (byte) 1);
        b.putShort(0x10, (short) 1 /* ET_REL */).putShort(0x12, (short) 62 /* x86-64 */);
        b.putLong(0x28, tableOffset).putShort(0x34, (short) 64).putShort(0x3a, (short) 64);
        b.putShort(0x3c, (short) count).putShort(0x3e, (short) (count - 1));
        for (int i = 0; i < all.length; i++) {
            b.put(offsets[i], all[i]);
            int header = tableOffset + (i + 1) * 64;
            b.putInt(header, nameOffsets[i]).putInt(header + 4, i == all.length - 1 ? 3 : 1);
            b.putLong(header + 24, offsets[i]).putLong(header + 32, all[i].length);
        }
        return b.array();
    }

    static byte[] modinfo(String... entries) {
        return (String.join("\0", entries) + "\0").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void name_and_depends_come_from_the_modinfo_section() {
        byte[] ko = elf(new String[] {".text", ".modinfo"}, new byte[][] {{(byte) 0xc3},
                modinfo("license=GPL", "depends=kvm,ccp", "retpoline=Y", "intree=Y", "name=kvm_amd",
                        "vermagic=6.1.0-57-amd64 SMP preempt mod_unload modversions ")});
        assertEquals(new KernelModule("kvm_amd", List.of("kvm", "ccp")), KernelModule.parse(ko, "kvm-amd"));
    }

    @Test
    void an_empty_depends_means_no_dependencies_and_the_file_name_is_the_fallback() {
        byte[] ko = elf(new String[] {".modinfo"}, new byte[][] {modinfo("license=GPL", "depends=")});
        assertEquals(new KernelModule("virtio_ring", List.of()), KernelModule.parse(ko, "virtio_ring"));
    }

    @Test
    void file_names_map_to_module_names() {
        assertEquals("kvm_amd", KernelModule.nameOfFile("kvm-amd.ko"));
        assertEquals("9pnet_virtio", KernelModule.nameOfFile("9pnet_virtio.ko.xz"));
        assertEquals("virtio_pci", KernelModule.nameOfFile("virtio_pci.ko.zst"));
    }

    @Test
    void a_file_that_is_not_elf_is_rejected_with_a_clear_message() {
        byte[] xz = new byte[100];
        xz[0] = (byte) 0xfd;
        LabException e = assertThrows(LabException.class, () -> KernelModule.parse(xz, "x"));
        assertEquals("not an ELF file (a kernel module must be an uncompressed ELF object)", e.getMessage());
    }

    @Test
    void a_section_table_past_the_end_is_rejected() {
        byte[] ko = elf(new String[] {".modinfo"}, new byte[][] {modinfo("depends=")});
        ByteBuffer.wrap(ko).order(ByteOrder.LITTLE_ENDIAN).putLong(0x28, ko.length - 10);
        assertThrows(LabException.class, () -> KernelModule.parse(ko, "x"));
    }
}
