package dev.panavisor.devices.virtio.mmio;

import java.util.List;

/**
 * Register offsets of a virtio-mmio device, version 2 (virtio 1.2 §4.2.2, table "MMIO Device Register Layout").
 *
 * <p>Every control register is 32 bits wide and accessed only with aligned 32-bit accesses; 64-bit addresses are
 * split into Low/High halves. R = the driver reads it, W = the driver writes it.
 */
public final class MmioRegisters {
    private MmioRegisters() {
    }

    /** R: 0x74726976, "virt" in little-endian ASCII. */
    public static final int MAGIC_VALUE = 0x000;
    /** R: 2 for this (modern) layout; legacy devices said 1. */
    public static final int VERSION = 0x004;
    /** R: the virtio device type (2 block, 3 console); 0 means "no device here". */
    public static final int DEVICE_ID = 0x008;
    /** R: the subsystem vendor. */
    public static final int VENDOR_ID = 0x00c;
    /** R: 32 bits of the device's features, selected by DeviceFeaturesSel. */
    public static final int DEVICE_FEATURES = 0x010;
    /** W: which 32-bit word DeviceFeatures shows (0: bits 0-31, 1: bits 32-63). */
    public static final int DEVICE_FEATURES_SEL = 0x014;
    /** W: 32 bits of the features the driver accepts, selected by DriverFeaturesSel. */
    public static final int DRIVER_FEATURES = 0x020;
    /** W: which 32-bit word DriverFeatures sets. */
    public static final int DRIVER_FEATURES_SEL = 0x024;
    /** W: which queue the Queue* registers below refer to. */
    public static final int QUEUE_SEL = 0x030;
    /** R: largest size the selected queue may have; 0 if the queue does not exist. */
    public static final int QUEUE_NUM_MAX = 0x034;
    /** W: the size the driver chose for the selected queue. */
    public static final int QUEUE_NUM = 0x038;
    /** RW: 1 once the driver has set up the selected queue; writing 0 stops the device using it. */
    public static final int QUEUE_READY = 0x044;
    /** W: "there are new buffers in queue N" (the value is the queue index). The ioeventfd target. */
    public static final int QUEUE_NOTIFY = 0x050;
    /** R: why the interrupt is asserted: bit 0 used buffers, bit 1 configuration change. */
    public static final int INTERRUPT_STATUS = 0x060;
    /** W: the InterruptStatus bits the driver has handled. */
    public static final int INTERRUPT_ACK = 0x064;
    /** RW: the device status field (§2.1); writing 0 resets the device. */
    public static final int STATUS = 0x070;
    public static final int QUEUE_DESC_LOW = 0x080;
    public static final int QUEUE_DESC_HIGH = 0x084;
    /** The "driver area": the available ring of a split queue. */
    public static final int QUEUE_DRIVER_LOW = 0x090;
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    /** The "device area": the used ring of a split queue. */
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    /** W: shared memory region selector; this device has no shared memory regions. */
    public static final int SHM_SEL = 0x0ac;
    public static final int SHM_LEN_LOW = 0x0b0;
    public static final int SHM_LEN_HIGH = 0x0b4;
    public static final int SHM_BASE_LOW = 0x0b8;
    public static final int SHM_BASE_HIGH = 0x0bc;
    /** RW: per-queue reset, only with VIRTIO_F_RING_RESET (not offered here). */
    public static final int QUEUE_RESET = 0x0c0;
    /** R: changes whenever the configuration space may have changed under the driver's feet. */
    public static final int CONFIG_GENERATION = 0x0fc;
    /** Start of the device-specific configuration space. */
    public static final int CONFIG = 0x100;

    /** The value of MagicValue. */
    public static final int MAGIC = 0x7472_6976;
    /** The value of Version for the modern (virtio 1.x) interface. */
    public static final int MODERN_VERSION = 2;

    /** InterruptStatus bit: the device used buffers in at least one queue. */
    public static final int INTERRUPT_USED_BUFFER = 1;
    /** InterruptStatus bit: the device configuration changed. */
    public static final int INTERRUPT_CONFIG_CHANGE = 2;

    /** A range of registers: {@code size} bytes from {@code offset}. */
    public record Range(int offset, int size) {
    }

    /**
     * The registers whose writes the transport only stores, for a later access to act on: the feature selectors and
     * the driver's feature words (acted on by Status FEATURES_OK), the queue selector and the selected queue's size
     * and ring addresses (acted on by QueueReady and DRIVER_OK), with the reserved offsets between them. Every access
     * that acts on them, or shows them (DeviceFeatures, QueueNumMax and QueueReady are read), is one the VMM sees as an
     * exit of its own, so it may let KVM hold these writes back and hand them over before that exit (docs/boot.md,
     * "Writes that do not exit"): about eight exits fewer for each queue a driver sets up (§4.2.3.2). Reads in the
     * ranges are never held back. Not here: Status, QueueReady, QueueReset, QueueNotify, InterruptACK (whose late
     * arrival has rules of its own, {@link InterruptStatusRegister}) and the configuration space, whose writes
     * devices act on at once.
     */
    public static final List<Range> STORED_WRITES = List.of(
            new Range(DEVICE_FEATURES_SEL, DRIVER_FEATURES_SEL + 4 - DEVICE_FEATURES_SEL),
            new Range(QUEUE_SEL, QUEUE_NUM + 4 - QUEUE_SEL),
            new Range(QUEUE_DESC_LOW, QUEUE_DEVICE_HIGH + 4 - QUEUE_DESC_LOW));

    /** The register's name in virtio 1.2 §4.2.2 ("QueueNotify"), "config+0x4" in the configuration space, else null. */
    public static String name(long offset) {
        if (offset >= CONFIG) {
            return String.format("config+0x%x", offset - CONFIG);
        }
        return switch ((int) offset) {
            case MAGIC_VALUE -> "MagicValue";
            case VERSION -> "Version";
            case DEVICE_ID -> "DeviceID";
            case VENDOR_ID -> "VendorID";
            case DEVICE_FEATURES -> "DeviceFeatures";
            case DEVICE_FEATURES_SEL -> "DeviceFeaturesSel";
            case DRIVER_FEATURES -> "DriverFeatures";
            case DRIVER_FEATURES_SEL -> "DriverFeaturesSel";
            case QUEUE_SEL -> "QueueSel";
            case QUEUE_NUM_MAX -> "QueueNumMax";
            case QUEUE_NUM -> "QueueNum";
            case QUEUE_READY -> "QueueReady";
            case QUEUE_NOTIFY -> "QueueNotify";
            case INTERRUPT_STATUS -> "InterruptStatus";
            case INTERRUPT_ACK -> "InterruptACK";
            case STATUS -> "Status";
            case QUEUE_DESC_LOW -> "QueueDescLow";
            case QUEUE_DESC_HIGH -> "QueueDescHigh";
            case QUEUE_DRIVER_LOW -> "QueueDriverLow";
            case QUEUE_DRIVER_HIGH -> "QueueDriverHigh";
            case QUEUE_DEVICE_LOW -> "QueueDeviceLow";
            case QUEUE_DEVICE_HIGH -> "QueueDeviceHigh";
            case SHM_SEL -> "SHMSel";
            case SHM_LEN_LOW -> "SHMLenLow";
            case SHM_LEN_HIGH -> "SHMLenHigh";
            case SHM_BASE_LOW -> "SHMBaseLow";
            case SHM_BASE_HIGH -> "SHMBaseHigh";
            case QUEUE_RESET -> "QueueReset";
            case CONFIG_GENERATION -> "ConfigGeneration";
            default -> null;
        };
    }
}
