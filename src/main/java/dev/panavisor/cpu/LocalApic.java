package dev.panavisor.cpu;

/**
 * Local APIC set-up on the 1 KiB register page KVM_GET_LAPIC returns: the two local interrupt pins wired the way a
 * PC's firmware wires them, LINT0 to ExtINT (so the 8259 PIC's output reaches the BSP while the guest still uses
 * it) and LINT1 to NMI (MP spec 1.4 §5.1, "virtual wire mode"; Intel SDM Vol. 3A §10.5.1, LVT).
 */
public final class LocalApic {
    private LocalApic() {
    }

    public static final int LVT_LINT0 = 0x350;
    public static final int LVT_LINT1 = 0x360;
    static final int DELIVERY_MODE_SHIFT = 8;
    static final int DELIVERY_MODE_MASK = 0x7 << DELIVERY_MODE_SHIFT;
    public static final int DELIVERY_MODE_NMI = 0x4;
    public static final int DELIVERY_MODE_EXTINT = 0x7;

    /** Returns a copy of {@code registers} with LINT0 = ExtINT and LINT1 = NMI (other LVT bits kept). */
    public static byte[] withVirtualWire(byte[] registers) {
        if (registers.length != 1024) {
            throw new CpuException("a local APIC register page is 1024 bytes, got " + registers.length);
        }
        byte[] result = registers.clone();
        setDeliveryMode(result, LVT_LINT0, DELIVERY_MODE_EXTINT);
        setDeliveryMode(result, LVT_LINT1, DELIVERY_MODE_NMI);
        return result;
    }

    static int register(byte[] page, int offset) {
        return (page[offset] & 0xff) | (page[offset + 1] & 0xff) << 8 | (page[offset + 2] & 0xff) << 16
                | (page[offset + 3] & 0xff) << 24;
    }

    private static void setDeliveryMode(byte[] page, int offset, int mode) {
        int value = (register(page, offset) & ~DELIVERY_MODE_MASK) | (mode << DELIVERY_MODE_SHIFT);
        page[offset] = (byte) value;
        page[offset + 1] = (byte) (value >>> 8);
        page[offset + 2] = (byte) (value >>> 16);
        page[offset + 3] = (byte) (value >>> 24);
    }
}
