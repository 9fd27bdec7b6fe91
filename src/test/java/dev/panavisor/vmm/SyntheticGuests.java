package dev.panavisor.vmm;

import dev.panavisor.boot.SyntheticKernels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * bzImages whose 64-bit entry (startup_64, 0x200 into the protected-mode part) is a few instructions, so a whole
 * {@link Machine} — devices, worker threads, vCPU threads — runs on any /dev/kvm that runs tiny guests.
 */
final class SyntheticGuests {
    private SyntheticGuests() {
    }

    /** mov dx, 0x3f8; loop: mov al, 'x'; out dx, al; jmp loop — a port-I/O exit per byte, forever. */
    static final byte[] SERIAL_FOREVER = {
            0x66, (byte) 0xba, (byte) 0xf8, 0x03,
            (byte) 0xb0, 'x', (byte) 0xee, (byte) 0xeb, (byte) 0xfb};

    /**
     * Writes "ok" to COM1, then pulses the reset line through the i8042 (command 0xFE to port 0x64), which ends the
     * VM as a reboot does; then hlt and spin, should the reset be lost.
     */
    static final byte[] SERIAL_OK_THEN_RESET = {
            0x66, (byte) 0xba, (byte) 0xf8, 0x03,
            (byte) 0xb0, 'o', (byte) 0xee, (byte) 0xb0, 'k', (byte) 0xee,
            (byte) 0xb0, (byte) 0xfe, (byte) 0xe6, 0x64,
            (byte) 0xf4, (byte) 0xeb, (byte) 0xfe};

    /**
     * A one-vCPU machine on the serial console with a 1 MiB virtio-blk disk (so a device worker, an ioeventfd and
     * irqfds too), running {@code code}; kernel and disk are written to {@code dir}.
     */
    static MachineConfig machineWithDisk(Path dir, byte[] code, long memoryBytes) {
        Path kernel = write(dir.resolve("synthetic.bzImage"), code);
        Path disk = dir.resolve("disk.img");
        try {
            Files.write(disk, new byte[1 << 20]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new MachineConfig(kernel, java.util.Optional.empty(), java.util.List.of(new MachineConfig.Disk(disk,
                false)), "", memoryBytes, 1, MachineConfig.ConsoleKind.SERIAL, java.util.Optional.empty());
    }

    /** A bzImage running {@code code} at its 64-bit entry, written to {@code file}. */
    static Path write(Path file, byte[] code) {
        SyntheticKernels.BzImage image = new SyntheticKernels.BzImage();
        image.payload = new byte[8192];
        System.arraycopy(code, 0, image.payload, 0x200, code.length);
        try {
            Files.write(file, image.build().array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
