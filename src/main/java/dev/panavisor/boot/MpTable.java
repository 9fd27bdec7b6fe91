package dev.panavisor.boot;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes an Intel MultiProcessor Specification 1.4 table: how a guest without ACPI learns its CPUs, its I/O APIC
 * and which I/O APIC pin each interrupt arrives on. Linux (CONFIG_X86_MPPARSE) scans the last KiB of base memory
 * for the floating pointer, so it is placed at {@link GuestLayout#MPTABLE_ADDRESS} (0x9fc00, the start of the
 * EBDA, which the e820 map reports reserved).
 *
 * <p>Layout, all in one block:
 * <pre>
 * MP floating pointer (16 bytes, MP 1.4 §4.1)   "_MP_" → physical address of the configuration table
 * configuration table header (44 bytes, §4.2)   "PCMP", length, entry count, local APIC address
 *   N processor entries (20 bytes each, §4.3.1)  APIC IDs 0..N-1, CPU 0 is the bootstrap processor
 *   1 bus entry (8 bytes, §4.3.2)                bus 0, "ISA"
 *   1 I/O APIC entry (8 bytes, §4.3.3)           ID N, at {@link GuestLayout#IOAPIC_ADDRESS}
 *   24 I/O interrupt entries (8 bytes, §4.3.4)   ISA bus IRQ i → I/O APIC pin i, i = 0..23
 *   2 local interrupt entries (8 bytes, §4.3.5)  LINT0 = ExtINT (the 8259 PIC), LINT1 = NMI, on every CPU
 * </pre>
 * Entries appear in the order of their type, as §4.3 requires. Each of the two structures has a checksum byte
 * that makes its bytes sum to 0 modulo 256.
 *
 * <p><b>Why IRQ i goes to pin i.</b> KVM's in-kernel irqchip, with its default GSI routing, delivers GSI i to I/O
 * APIC pin i (and, for i &lt; 16, to the PIC's input i); the in-kernel PIT raises GSI 0. An identity table says
 * exactly that. IRQs 16-23 have no ISA meaning; they are listed on the ISA bus so the virtio-mmio devices (given
 * to Linux as {@code virtio_mmio.device=size@base:irq}) have a routing entry whatever pin they use. "Conforms to
 * bus" flags mean edge-triggered, active high for all of them: devices signal a rising edge of their line.
 */
public final class MpTable {
    /** Local APIC version of KVM's in-kernel local APIC (integrated APIC, version 0x14). */
    static final int LOCAL_APIC_VERSION = 0x14;
    /** I/O APIC version of KVM's in-kernel 82093AA model (0x11, 24 pins). */
    static final int IOAPIC_VERSION = 0x11;
    public static final int IOAPIC_PINS = 24;
    /** CPU signature for the processor entries: family 6 (§4.3.1 "CPU Signature"; informational only). */
    static final int CPU_SIGNATURE = 6 << 8;
    /** Feature flags for the processor entries: FPU (bit 0) and on-chip APIC (bit 9), as CPUID.1:EDX reports. */
    static final int CPU_FEATURES = 1 | 1 << 9;

    static final int FLOATING_POINTER_SIZE = 16;
    static final int HEADER_SIZE = 44;
    static final int PROCESSOR_ENTRY_SIZE = 20;
    static final int OTHER_ENTRY_SIZE = 8;

    // Entry types (§4.3, Table 4-3).
    static final int PROCESSOR = 0;
    static final int BUS = 1;
    static final int IOAPIC = 2;
    static final int IO_INTERRUPT = 3;
    static final int LOCAL_INTERRUPT = 4;
    // Interrupt types (§4.3.4, Table 4-10).
    static final int INT = 0;
    static final int NMI = 1;
    static final int EXTINT = 3;

    static final int ISA_BUS_ID = 0;
    /** "All local APICs" as a destination (§4.3.5). */
    static final int ALL_LOCAL_APICS = 0xff;
    /** Room for the whole table: the first KiB of the EBDA, up to where the legacy hole begins. */
    static final int SPACE = (int) (GuestLayout.LOW_MEMORY_END - GuestLayout.MPTABLE_ADDRESS);
    /** The most CPUs whose entries fit in {@link #SPACE} next to everything else. */
    public static final int MAX_CPUS = (SPACE - FLOATING_POINTER_SIZE - HEADER_SIZE
            - OTHER_ENTRY_SIZE * (2 + IOAPIC_PINS + 2)) / PROCESSOR_ENTRY_SIZE;

    private MpTable() {
    }

    /** Writes the table for {@code cpus} vCPUs; returns its total size in bytes. */
    public static int write(GuestMemory memory, int cpus) {
        byte[] table = build(cpus);
        memory.write(GuestLayout.MPTABLE_ADDRESS, table);
        return table.length;
    }

    /** The table's bytes as they will sit at {@link GuestLayout#MPTABLE_ADDRESS}. */
    static byte[] build(int cpus) {
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new BootException(String.format(
                    "%d vCPUs cannot be described: the MP table has room for 1 to %d", cpus, MAX_CPUS));
        }
        int entryCount = cpus + 2 + IOAPIC_PINS + 2;
        int configLength = HEADER_SIZE + cpus * PROCESSOR_ENTRY_SIZE + (entryCount - cpus) * OTHER_ENTRY_SIZE;
        ByteBuffer buffer = ByteBuffer.allocate(FLOATING_POINTER_SIZE + configLength).order(ByteOrder.LITTLE_ENDIAN);
        long configAddress = GuestLayout.MPTABLE_ADDRESS + FLOATING_POINTER_SIZE;

        // MP floating pointer structure (§4.1, Figure 4-2).
        buffer.put(ascii("_MP_", 4));
        buffer.putInt((int) configAddress);
        buffer.put((byte) 1);              // length in 16-byte paragraphs
        buffer.put((byte) 4);              // spec revision 1.4
        buffer.put((byte) 0);              // checksum, below
        buffer.put((byte) 0);              // feature byte 1: 0 = a configuration table is present
        buffer.put((byte) 0);              // feature byte 2: IMCRP clear = virtual wire mode, no IMCR
        buffer.put(new byte[3]);           // feature bytes 3-5, reserved

        // Configuration table header (§4.2, Figure 4-3).
        int header = buffer.position();
        buffer.put(ascii("PCMP", 4));
        buffer.putShort((short) configLength);   // base table length
        buffer.put((byte) 4);                    // spec revision 1.4
        buffer.put((byte) 0);                    // checksum, below
        buffer.put(ascii("PANAVSR", 8));         // OEM ID
        buffer.put(ascii("MICROVM", 12));        // product ID
        buffer.putInt(0);                        // OEM table pointer: none
        buffer.putShort((short) 0);              // OEM table size
        buffer.putShort((short) entryCount);
        buffer.putInt((int) GuestLayout.LAPIC_ADDRESS);
        buffer.putShort((short) 0);              // extended table length: none
        buffer.put((byte) 0);                    // extended table checksum
        buffer.put((byte) 0);                    // reserved

        for (int cpu = 0; cpu < cpus; cpu++) {   // processor entries (§4.3.1, Figure 4-5)
            buffer.put((byte) PROCESSOR);
            buffer.put((byte) cpu);                      // local APIC ID
            buffer.put((byte) LOCAL_APIC_VERSION);
            buffer.put((byte) (cpu == 0 ? 0b11 : 0b01)); // CPU flags: EN (usable), BP (bootstrap) on CPU 0
            buffer.putInt(CPU_SIGNATURE);
            buffer.putInt(CPU_FEATURES);
            buffer.putLong(0);                           // reserved
        }

        buffer.put((byte) BUS);                  // bus entry (§4.3.2, Figure 4-6)
        buffer.put((byte) ISA_BUS_ID);
        buffer.put(ascii("ISA", 6));             // bus type string, blank-padded

        int ioapicId = cpus;                     // the first ID after the local APICs'
        buffer.put((byte) IOAPIC);               // I/O APIC entry (§4.3.3, Figure 4-7)
        buffer.put((byte) ioapicId);
        buffer.put((byte) IOAPIC_VERSION);
        buffer.put((byte) 1);                    // flags: EN
        buffer.putInt((int) GuestLayout.IOAPIC_ADDRESS);

        for (int irq = 0; irq < IOAPIC_PINS; irq++) { // I/O interrupt entries (§4.3.4, Figure 4-8)
            interruptEntry(buffer, IO_INTERRUPT, INT, ISA_BUS_ID, irq, ioapicId, irq);
        }
        // Local interrupt entries (§4.3.5, Figure 4-9): the virtual-wire set-up of §3.6.2.2.
        interruptEntry(buffer, LOCAL_INTERRUPT, EXTINT, ISA_BUS_ID, 0, ALL_LOCAL_APICS, 0);
        interruptEntry(buffer, LOCAL_INTERRUPT, NMI, ISA_BUS_ID, 0, ALL_LOCAL_APICS, 1);

        byte[] bytes = buffer.array();
        bytes[10] = checksum(bytes, 0, FLOATING_POINTER_SIZE);
        bytes[header + 7] = checksum(bytes, header, configLength);
        return bytes;
    }

    /** One 8-byte I/O or local interrupt entry with "conforms to bus" polarity and trigger (flags 0). */
    private static void interruptEntry(ByteBuffer buffer, int entryType, int interruptType, int sourceBus,
            int sourceIrq, int destinationId, int destinationPin) {
        buffer.put((byte) entryType);
        buffer.put((byte) interruptType);
        buffer.putShort((short) 0);
        buffer.put((byte) sourceBus);
        buffer.put((byte) sourceIrq);
        buffer.put((byte) destinationId);
        buffer.put((byte) destinationPin);
    }

    /** The byte that makes {@code bytes[offset..offset+length)} sum to zero (its own slot still zero). */
    static byte checksum(byte[] bytes, int offset, int length) {
        int sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += bytes[i];
        }
        return (byte) -sum;
    }

    /** {@code text} in ASCII, padded with spaces to {@code width} bytes (the MP spec pads strings with blanks). */
    private static byte[] ascii(String text, int width) {
        byte[] bytes = new byte[width];
        Arrays.fill(bytes, (byte) ' ');
        byte[] chars = text.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(chars, 0, bytes, 0, Math.min(width, chars.length));
        return bytes;
    }
}
