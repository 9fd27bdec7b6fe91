package dev.panavisor.devices.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ConfigSpaceTest {
    private static final byte[] LAYOUT = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, (byte) 0x88};

    @Test
    void reads_are_little_endian_at_any_offset_and_size() {
        assertEquals(0x01, ConfigSpace.read(LAYOUT, 0, 1));
        assertEquals(0x0201, ConfigSpace.read(LAYOUT, 0, 2));
        assertEquals(0x05040302L, ConfigSpace.read(LAYOUT, 1, 4));
        assertEquals(0x8807060504030201L, ConfigSpace.read(LAYOUT, 0, 8));
    }

    @Test
    void bytes_outside_the_layout_read_as_zero() {
        assertEquals(0x88, ConfigSpace.read(LAYOUT, 7, 4), "the part past the end is zero");
        assertEquals(0, ConfigSpace.read(LAYOUT, 8, 4));
        assertEquals(0, ConfigSpace.read(LAYOUT, 4096, 8));
        assertEquals(0x0100, ConfigSpace.read(LAYOUT, -1, 2), "a negative offset's byte is zero too");
        assertEquals(0, ConfigSpace.read(new byte[0], 0, 8));
    }
}
