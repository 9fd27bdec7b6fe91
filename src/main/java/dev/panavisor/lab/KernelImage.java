package dev.panavisor.lab;

import dev.panavisor.host.HostCommand;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Turns a distribution's compressed kernel (bzImage, "vmlinuz") into the uncompressed ELF vmlinux that QEMU
 * can start directly through the PVH entry point.
 *
 * <p>Why: under TCG the decompressor inside a bzImage runs emulated, one translated block at a time, and
 * unpacking Debian's xz-compressed kernel took about 4 of the lab's first 5 seconds. Unpacking it once on the
 * host (at native speed, cached) and booting the ELF with PVH (Debian builds CONFIG_PVH=y) removes that cost.
 *
 * <p>Linux boot protocol (Documentation/arch/x86/boot.rst), setup header: {@code setup_sects} at 0x1f1, the
 * "HdrS" magic at 0x202, the protocol version at 0x206, and (protocol 2.08+) {@code payload_offset} at 0x248 and
 * {@code payload_length} at 0x24c, relative to the protected-mode code that starts after the
 * {@code (setup_sects + 1) * 512} bytes of real-mode setup. The payload is the compressed vmlinux.
 */
public final class KernelImage {
    private static final int HDRS = 0x53726448; // "HdrS", little-endian
    private static final byte[] GZIP = {0x1f, (byte) 0x8b};
    private static final byte[] XZ = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};
    private static final byte[] ZSTD = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};

    private KernelImage() {
    }

    /** The compressed payload inside a bzImage. */
    static byte[] payload(byte[] bzImage) {
        ByteBuffer b = ByteBuffer.wrap(bzImage).order(ByteOrder.LITTLE_ENDIAN);
        if (bzImage.length < 0x250 || b.getInt(0x202) != HDRS) {
            throw new LabException("not a Linux bzImage (no HdrS setup header)");
        }
        int version = Short.toUnsignedInt(b.getShort(0x206));
        if (version < 0x208) {
            throw new LabException(String.format("boot protocol %x.%02x is older than 2.08 (no payload fields)",
                    version >> 8, version & 0xff));
        }
        int setupSectors = Byte.toUnsignedInt(bzImage[0x1f1]);
        if (setupSectors == 0) {
            setupSectors = 4; // boot protocol: "if this field is 0, the real value is 4"
        }
        long start = (setupSectors + 1L) * 512 + Integer.toUnsignedLong(b.getInt(0x248));
        long length = Integer.toUnsignedLong(b.getInt(0x24c));
        if (start + length > bzImage.length) {
            throw new LabException("bzImage payload runs past the end of the file");
        }
        return Arrays.copyOfRange(bzImage, (int) start, (int) (start + length));
    }

    /** Writes the uncompressed vmlinux of {@code bzImage} to {@code vmlinux}. */
    public static void extractVmlinux(Path bzImage, Path vmlinux) throws IOException {
        byte[] payload = payload(Files.readAllBytes(bzImage));
        try (OutputStream out = Files.newOutputStream(vmlinux)) {
            if (startsWith(payload, GZIP)) {
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(payload))) {
                    in.transferTo(out);
                }
            } else if (startsWith(payload, XZ)) {
                // The JDK has no xz decoder; xz-utils is part of every Debian system. --single-stream: the
                // kernel build appends the uncompressed size after the stream.
                HostCommand.of("xz", "-dc", "--single-stream").pipe(payload, out);
            } else if (startsWith(payload, ZSTD)) {
                HostCommand.of("zstd", "-dcq").pipe(payload, out);
            } else {
                throw new LabException("unsupported kernel compression in " + bzImage.getFileName()
                        + " (expected gzip, xz or zstd)");
            }
        }
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(vmlinux)) {
            if (in.readNBytes(head, 0, 4) != 4 || ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt()
                    != 0x464c457f) {
                throw new LabException("the kernel payload of " + bzImage.getFileName() + " is not an ELF vmlinux");
            }
        }
    }

    static boolean startsWith(byte[] data, byte[] prefix) {
        return data.length >= prefix.length && Arrays.equals(data, 0, prefix.length, prefix, 0, prefix.length);
    }
}
