package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class KernelConfigFragmentTest {
    private static final String SMALL = """
            # Header paragraph: not attached to any option.

            # The console.
            # A UART at 0x3f8.
            CONFIG_SERIAL_8250=y
            CONFIG_SERIAL_8250_CONSOLE=y
            # Virtio over MMIO.
            CONFIG_VIRTIO_MMIO=y

            # A string option.
            CONFIG_CMDLINE="console=ttyS0"

            # No modules.
            # CONFIG_MODULES is not set
            """;

    @Test
    void options_carry_their_value_line_and_the_comment_of_their_group() {
        List<KernelConfigFragment.Option> options = KernelConfigFragment.parse(SMALL, "small").options();
        assertEquals(List.of("SERIAL_8250", "SERIAL_8250_CONSOLE", "VIRTIO_MMIO", "CMDLINE", "MODULES"),
                options.stream().map(KernelConfigFragment.Option::name).toList());
        assertEquals("The console. A UART at 0x3f8.", options.get(0).reason());
        assertEquals("The console. A UART at 0x3f8.", options.get(1).reason());
        assertEquals("Virtio over MMIO.", options.get(2).reason(), "a comment after options starts a new group");
        assertEquals("\"console=ttyS0\"", options.get(3).value());
        assertNull(options.get(4).value());
        assertTrue(options.get(4).isDisabled());
        assertEquals(5, options.get(0).line());
        assertEquals("CONFIG_SERIAL_8250=y\nCONFIG_SERIAL_8250_CONSOLE=y\nCONFIG_VIRTIO_MMIO=y\n"
                + "CONFIG_CMDLINE=\"console=ttyS0\"\n# CONFIG_MODULES is not set\n",
                KernelConfigFragment.parse(SMALL, "small").configLines());
    }

    @Test
    void an_option_without_a_comment_is_rejected_with_its_line() {
        ImageException e = assertThrows(ImageException.class,
                () -> KernelConfigFragment.parse("# ok\nCONFIG_A=y\n\nCONFIG_B=y\n", "f"));
        assertEquals("f:4: CONFIG_B has no comment above it saying why the guest needs it", e.getMessage());
        // The header paragraph ends at its blank line: it does not explain the first option.
        assertThrows(ImageException.class, () -> KernelConfigFragment.parse("# header\n\nCONFIG_A=y\n", "f"));
    }

    @Test
    void duplicates_and_garbage_are_rejected() {
        ImageException duplicate = assertThrows(ImageException.class,
                () -> KernelConfigFragment.parse("# a\nCONFIG_A=y\n# again\n# CONFIG_A is not set\n", "f"));
        assertEquals("f:4: CONFIG_A is already set on line 2", duplicate.getMessage());
        ImageException garbage = assertThrows(ImageException.class,
                () -> KernelConfigFragment.parse("# a\nVIRTIO=y\n", "f"));
        assertTrue(garbage.getMessage().startsWith("f:2: not a config line"), garbage.getMessage());
    }

    @Test
    void verify_reports_dropped_changed_and_unwanted_options() {
        KernelConfigFragment fragment = KernelConfigFragment.parse(SMALL, "small");
        Map<String, String> config = new HashMap<>(KernelConfigFragment.parseDotConfig("""
                CONFIG_SERIAL_8250=y
                CONFIG_SERIAL_8250_CONSOLE=y
                CONFIG_VIRTIO_MMIO=y
                CONFIG_CMDLINE="console=ttyS0"
                # CONFIG_MODULES is not set
                CONFIG_UNRELATED=y
                """));
        assertEquals(List.of(), fragment.verify(config));

        config.remove("VIRTIO_MMIO");
        config.put("SERIAL_8250_CONSOLE", "m");
        config.put("MODULES", "y");
        List<String> problems = fragment.verify(config);
        assertEquals(3, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith("CONFIG_SERIAL_8250_CONSOLE is m, not y"), problems.get(0));
        assertTrue(problems.get(1).startsWith("CONFIG_VIRTIO_MMIO=y was dropped"), problems.get(1));
        assertTrue(problems.get(2).startsWith("CONFIG_MODULES should be off but is y"), problems.get(2));
    }

    @Test
    void dot_config_parsing_ignores_comments_and_keeps_quoted_strings() {
        Map<String, String> values = KernelConfigFragment.parseDotConfig(
                "#\n# Automatically generated\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=0x10\n");
        assertEquals(Map.of("A", "y", "C", "\"x y\"", "D", "0x10"), values);
    }

    @Test
    void the_guest_fragment_parses_and_asks_for_everything_the_issue_lists() {
        KernelConfigFragment fragment = ImageSources.bundled().parsedFragment();
        Map<String, String> options = fragment.options().stream().collect(Collectors.toMap(
                KernelConfigFragment.Option::name, option -> option.isDisabled() ? "off" : option.value()));
        for (String required : List.of("64BIT", "SERIAL_8250", "SERIAL_8250_CONSOLE", "VIRTIO_MMIO",
                "VIRTIO_MMIO_CMDLINE_DEVICES", "VIRTIO_BLK", "VIRTIO_CONSOLE", "HW_RANDOM_VIRTIO", "VIRTIO_NET",
                "VIRTIO_VSOCKETS", "EXT4_FS", "BLK_DEV_INITRD", "RD_GZIP", "DEVTMPFS", "KVM_GUEST", "PVH", "SMP",
                "X86_MPPARSE", "X86_IOPL_IOPERM")) {
            assertEquals("y", options.get(required), "CONFIG_" + required);
        }
        for (String off : List.of("MODULES", "PCI", "ACPI")) {
            assertEquals("off", options.get(off), "CONFIG_" + off);
        }
        for (KernelConfigFragment.Option option : fragment.options()) {
            assertFalse(option.reason().isBlank(), "CONFIG_" + option.name() + " has a reason");
        }
    }
}
