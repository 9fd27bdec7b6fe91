package dev.panavisor.devices.virtio.console;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class InputFifoTest {
    @Test
    void keeps_order_across_the_wrap_of_its_ring_and_drops_what_does_not_fit() {
        InputFifo fifo = new InputFifo(8);
        byte[] out = new byte[8];
        int next = 0;
        int expected = 0;
        for (int round = 0; round < 20; round++) {
            byte[] in = {(byte) next, (byte) (next + 1), (byte) (next + 2), (byte) (next + 3), (byte) (next + 4)};
            assertEquals(5, fifo.offer(in, 0, 5));
            next += 5;
            int n = fifo.take(out, 5);
            assertEquals(5, n);
            for (int i = 0; i < n; i++) {
                assertEquals((byte) expected++, out[i], "round " + round);
            }
        }
        assertEquals(0, fifo.size());

        assertEquals(8, fifo.offer(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0, 10));
        assertEquals(2, fifo.dropped());
        assertEquals(8, fifo.take(out, 100));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, Arrays.copyOf(out, 8));
    }
}
