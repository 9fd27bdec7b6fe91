package dev.panavisor.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.HeapGuestMemory;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class CommandLineTest {
    private final HeapGuestMemory memory = new HeapGuestMemory(4 << 20);

    private static LoadedKernel kernelAccepting(long cmdlineSize) {
        return new LoadedKernel("test", LoadedKernel.Mode.LONG_MODE_64, 0x100200, 0x100000, 0x200000, 0x200000,
                new byte[0], cmdlineSize, 0x7fff_ffff, OptionalLong.empty());
    }

    @Test
    void writes_the_line_nul_terminated_at_the_command_line_address() {
        memory.fill(GuestLayout.CMDLINE_ADDRESS, 64, (byte) 'x');
        String text = "console=ttyS0 quiet";
        long address = new CommandLine(text).writeTo(memory, kernelAccepting(2047));
        assertEquals(GuestLayout.CMDLINE_ADDRESS, address);
        assertArrayEquals(text.getBytes(StandardCharsets.US_ASCII), memory.readBytes(address, text.length()));
        assertEquals(0, memory.readU8(address + text.length()));
    }

    @Test
    void accepts_exactly_cmdline_size_bytes_and_rejects_one_more() {
        new CommandLine("a".repeat(100)).writeTo(memory, kernelAccepting(100));
        var e = assertThrows(DoesNotFitException.class,
                () -> new CommandLine("a".repeat(101)).writeTo(memory, kernelAccepting(100)));
        assertEquals("kernel command line is 101 bytes long but the kernel accepts at most 100", e.getMessage());
    }

    @Test
    void never_writes_beyond_the_space_panavisor_reserves() {
        var e = assertThrows(DoesNotFitException.class, () -> new CommandLine("a".repeat(GuestLayout.CMDLINE_MAX_SIZE))
                .writeTo(memory, kernelAccepting(1 << 20)));
        assertEquals("kernel command line is 65536 bytes long but Panavisor reserves at most 65535", e.getMessage());
    }

    @Test
    void rejects_an_embedded_nul() {
        assertThrows(BootException.class, () -> new CommandLine("a\0b"));
    }

    /** A newline would hide the words after it from Panavisor's init, which reads /proc/cmdline's first line. */
    @Test
    void rejects_newlines_and_other_control_characters_but_takes_tabs() {
        var e = assertThrows(BootException.class, () -> new CommandLine("quiet\ninit=/bin/sh"));
        assertEquals("kernel command line contains a control character (0x0a at 5): give its parameters on one line",
                e.getMessage());
        assertThrows(BootException.class, () -> new CommandLine("a\rb"));
        assertThrows(BootException.class, () -> new CommandLine("a\u001b[2Jb"));
        assertThrows(BootException.class, () -> new CommandLine("a\u007fb"));
        assertEquals("a\tb", new CommandLine("a\tb").text());
    }
}
