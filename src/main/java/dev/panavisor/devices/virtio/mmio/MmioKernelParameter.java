package dev.panavisor.devices.virtio.mmio;

/**
 * How a Linux guest learns about a virtio-mmio device when there is no device tree or ACPI: one kernel command-line
 * parameter per device, {@code virtio_mmio.device=<size>@<base>:<irq>} (Linux
 * Documentation/admin-guide/kernel-parameters.txt, "virtio_mmio.device"; needs CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
 * Size and base may be written in hex with a 0x prefix.
 */
public final class MmioKernelParameter {
    private MmioKernelParameter() {
    }

    /**
     * The parameter for a device whose registers occupy [base, base+size) and whose interrupt is GSI {@code irq},
     * for example {@code virtio_mmio.device=0x1000@0xd0000000:5}.
     */
    public static String of(long base, long size, int irq) {
        if (base < 0 || size <= 0 || irq < 0) {
            throw new IllegalArgumentException(String.format("bad virtio-mmio device: base 0x%x size 0x%x irq %d",
                    base, size, irq));
        }
        // Not String.format: on every boot's path, and a Formatter's first use costs tens of milliseconds on the
        // lab's emulated CPU (docs/performance.md, "No Formatter on a boot's path").
        return new StringBuilder("virtio_mmio.device=0x").append(Long.toHexString(size)).append("@0x")
                .append(Long.toHexString(base)).append(':').append(irq).toString();
    }
}
