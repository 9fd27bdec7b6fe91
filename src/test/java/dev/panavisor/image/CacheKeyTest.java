package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CacheKeyTest {
    private static String key(String source, String fragment) {
        return CacheKey.of("kernel").add("source", source).add("fragment", fragment).name();
    }

    @Test
    void same_inputs_give_the_same_name_and_any_change_a_different_one() {
        String name = key("6.1.158-1", "CONFIG_A=y\n");
        assertEquals(name, key("6.1.158-1", "CONFIG_A=y\n"));
        assertNotEquals(name, key("6.1.159-1", "CONFIG_A=y\n"));
        assertNotEquals(name, key("6.1.158-1", "CONFIG_A=n\n"));
        assertTrue(name.matches("kernel-[0-9a-f]{16}"), name);
    }

    @Test
    void moving_bytes_between_inputs_changes_the_name() {
        assertNotEquals(key("ab", "c"), key("a", "bc"));
        assertNotEquals(CacheKey.of("x").add("a", "b").name(), CacheKey.of("x").add("ab", "").name());
    }

    @Test
    void the_kind_is_part_of_the_name() {
        assertNotEquals(CacheKey.of("kernel").add("a", "b").name().substring(7),
                CacheKey.of("rootfs").add("a", "b").name().substring(7));
        assertThrows(IllegalArgumentException.class, () -> CacheKey.of("Kernel/../x"));
    }
}
