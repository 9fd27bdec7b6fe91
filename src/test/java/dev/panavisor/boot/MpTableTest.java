package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.HeapGuestMemory;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Reads the table back the way an OS would: floating pointer first, then the configuration table it names. */
class MpTableTest {
    private final HeapGuestMemory memory = new HeapGuestMemory(2 << 20);

    private String ascii(long address, int length) {
        return new String(memory.readBytes(address, length), StandardCharsets.US_ASCII);
    }

    private int byteSum(long address, int length) {
        int sum = 0;
        for (byte b : memory.readBytes(address, length)) {
            sum += b & 0xff;
        }
        return sum & 0xff;
    }

    @Test
    void floating_pointer_names_a_configuration_table_and_both_checksums_are_zero() {
        int size = MpTable.write(memory, 4);
        long fp = GuestLayout.MPTABLE_ADDRESS;
        assertEquals("_MP_", ascii(fp, 4));
        assertEquals(1, memory.readU8(fp + 8));            // 16-byte paragraphs
        assertEquals(4, memory.readU8(fp + 9));            // revision 1.4
        assertEquals(0, memory.readU8(fp + 11));           // not a default configuration
        assertEquals(0, byteSum(fp, 16));

        long config = memory.readU32(fp + 4);
        assertEquals("PCMP", ascii(config, 4));
        int length = memory.readU16(config + 4);
        assertEquals(0, byteSum(config, length));
        assertEquals(16 + length, size);
        assertEquals(GuestLayout.LAPIC_ADDRESS, memory.readU32(config + 36));
        assertEquals(4 + 1 + 1 + 24 + 2, memory.readU16(config + 34));
        assertEquals(44 + 4 * 20 + 28 * 8, length);
        // The whole table stays inside the EBDA's first KiB, below the legacy hole.
        assertEquals(true, fp + size <= GuestLayout.LOW_MEMORY_END);
    }

    @Test
    void entries_describe_cpus_bus_ioapic_and_routing_in_type_order() {
        int cpus = 3;
        MpTable.write(memory, cpus);
        long entry = memory.readU32(GuestLayout.MPTABLE_ADDRESS + 4) + 44;
        for (int cpu = 0; cpu < cpus; cpu++, entry += 20) {
            assertEquals(0, memory.readU8(entry), "processor entry type");
            assertEquals(cpu, memory.readU8(entry + 1), "local APIC ID");
            assertEquals(cpu == 0 ? 3 : 1, memory.readU8(entry + 3), "EN, and BP on CPU 0 only");
        }
        assertEquals(1, memory.readU8(entry));
        assertEquals("ISA   ", ascii(entry + 2, 6));
        entry += 8;
        assertEquals(2, memory.readU8(entry));
        assertEquals(cpus, memory.readU8(entry + 1), "I/O APIC ID follows the local APIC IDs");
        assertEquals(1, memory.readU8(entry + 3));
        assertEquals(GuestLayout.IOAPIC_ADDRESS, memory.readU32(entry + 4));
        entry += 8;
        for (int irq = 0; irq < 24; irq++, entry += 8) {
            assertEquals(3, memory.readU8(entry), "I/O interrupt entry");
            assertEquals(0, memory.readU8(entry + 1), "INT");
            assertEquals(0, memory.readU8(entry + 4), "source: ISA bus");
            assertEquals(irq, memory.readU8(entry + 5), "source IRQ");
            assertEquals(cpus, memory.readU8(entry + 6), "destination: the I/O APIC");
            assertEquals(irq, memory.readU8(entry + 7), "destination pin");
        }
        assertEquals(4, memory.readU8(entry));
        assertEquals(3, memory.readU8(entry + 1), "LINT0: ExtINT");
        assertEquals(0xff, memory.readU8(entry + 6));
        assertEquals(0, memory.readU8(entry + 7));
        entry += 8;
        assertEquals(4, memory.readU8(entry));
        assertEquals(1, memory.readU8(entry + 1), "LINT1: NMI");
        assertEquals(1, memory.readU8(entry + 7));
    }

    @Test
    void the_largest_cpu_count_still_fits_and_one_more_is_refused() {
        int size = MpTable.write(memory, MpTable.MAX_CPUS);
        assertEquals(true, GuestLayout.MPTABLE_ADDRESS + size <= GuestLayout.LOW_MEMORY_END);
        var e = assertThrows(BootException.class, () -> MpTable.write(memory, MpTable.MAX_CPUS + 1));
        assertEquals((MpTable.MAX_CPUS + 1) + " vCPUs cannot be described: the MP table has room for 1 to "
                + MpTable.MAX_CPUS, e.getMessage());
        assertThrows(BootException.class, () -> MpTable.write(memory, 0));
    }
}
