package dev.panavisor.boot;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.GuestMemory;
import java.nio.charset.StandardCharsets;

/**
 * The kernel command line: bytes the kernel parses, stored NUL-terminated in guest memory at {@link
 * GuestLayout#CMDLINE_ADDRESS} and pointed to by {@code cmd_line_ptr} in the zero page (boot.rst, "The kernel
 * command line": "a null-terminated string ... located anywhere between the end of the setup heap and 0xA0000").
 *
 * <p>Two limits apply. The kernel's: {@code cmdline_size} in the setup header is the longest line it accepts
 * without the NUL (boot.rst, "cmdline_size"); the kernel would silently cut a longer one, losing whatever came last
 * (often {@code init=} or {@code console=}), so that is an error here. And Panavisor's: the line and its NUL must
 * fit the {@link GuestLayout#CMDLINE_MAX_SIZE} bytes reserved for it.
 */
public record CommandLine(String text) {

    public CommandLine {
        if (text.indexOf('\0') >= 0) {
            throw new BootException("kernel command line contains a NUL character");
        }
        // The kernel would take a newline as a space, but the line is one line to whoever reads /proc/cmdline:
        // Panavisor's init reads only its first, and would never see the words after a newline. Tabs are spaces.
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                throw new BootException(String.format("kernel command line contains a control character (0x%02x at "
                        + "%d): give its parameters on one line", (int) c, i));
            }
        }
    }

    /** The bytes the kernel will see (UTF-8; the kernel treats them as opaque bytes), without the NUL. */
    public byte[] bytes() {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Writes the line and its terminating NUL at {@link GuestLayout#CMDLINE_ADDRESS}, after checking it against
     * {@code kernel}'s limit; returns that address, for {@code cmd_line_ptr}.
     */
    public long writeTo(GuestMemory memory, LoadedKernel kernel) {
        byte[] bytes = bytes();
        long limit = Math.min(kernel.cmdlineMaxLength(), GuestLayout.CMDLINE_MAX_SIZE - 1);
        if (bytes.length > limit) {
            String whose = limit == kernel.cmdlineMaxLength() ? "the kernel accepts" : "Panavisor reserves";
            throw new DoesNotFitException(String.format(
                    "kernel command line is %d bytes long but %s at most %d", bytes.length, whose, limit));
        }
        long address = GuestLayout.CMDLINE_ADDRESS;
        memory.write(address, bytes);
        memory.writeU8(address + bytes.length, 0);
        return address;
    }
}
