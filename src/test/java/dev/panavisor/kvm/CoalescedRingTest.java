package dev.panavisor.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ring as KVM fills it (virt/kvm/coalesced_mmio.c: the entry first, then {@code last}), drained by user space. */
class CoalescedRingTest {
    private record Write(boolean pio, long address, int size, long value) {
    }

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment page = arena.allocate(4096, 4096);
    private final CoalescedRing ring = new CoalescedRing(page);
    private final List<Write> seen = new ArrayList<>();

    /** What KVM does for one recorded write. */
    private void record(long address, int length, boolean pio, long data) {
        int last = page.get(ValueLayout.JAVA_INT, 4);
        long entry = 8 + last * 24L;
        page.set(ValueLayout.JAVA_LONG, entry, address);
        page.set(ValueLayout.JAVA_INT, entry + 8, length);
        page.set(ValueLayout.JAVA_INT, entry + 12, pio ? 1 : 0);
        page.set(ValueLayout.JAVA_LONG_UNALIGNED, entry + 16, data);
        page.set(ValueLayout.JAVA_INT, 4, (last + 1) % CoalescedRing.CAPACITY);
    }

    private int drain() {
        return ring.drain((pio, address, size, value) -> seen.add(new Write(pio, address, size, value)), true);
    }

    @Test
    void writes_come_out_oldest_first_with_only_their_own_bytes_and_free_their_slots() {
        assertTrue(ring.isEmpty());
        record(0x3f8, 1, true, 0xdead_be00_0000_0048L); // 'H', with stale bytes beyond its length
        record(0x3f8, 1, true, 0x69);
        record(0xd000_0050L, 4, false, 0xffff_ffff_0000_0002L);
        assertFalse(ring.isEmpty());
        assertEquals(3, drain());
        assertEquals(List.of(new Write(true, 0x3f8, 1, 0x48), new Write(true, 0x3f8, 1, 0x69),
                new Write(false, 0xd000_0050L, 4, 2)), seen);
        assertTrue(ring.isEmpty());
        assertEquals(3, page.get(ValueLayout.JAVA_INT, 0), "first caught up with last: the slots are KVM's again");
        assertEquals(0, drain(), "nothing twice");
    }

    @Test
    void held_counts_the_writes_not_yet_drained_across_the_wrap() {
        assertEquals(0, ring.held());
        for (int i = 0; i < CoalescedRing.CAPACITY - 3; i++) {
            record(0x3f8, 1, true, 'a');
        }
        assertEquals(CoalescedRing.CAPACITY - 3, ring.held());
        drain();
        assertEquals(0, ring.held());
        for (int i = 0; i < 7; i++) {
            record(0x3f8, 1, true, 'b'); // last wraps past the page's end, behind first
        }
        assertTrue(page.get(ValueLayout.JAVA_INT, 4) < page.get(ValueLayout.JAVA_INT, 0));
        assertEquals(7, ring.held());
    }

    @Test
    void the_ring_wraps_around() {
        for (int i = 0; i < CoalescedRing.CAPACITY - 1; i++) {
            record(0x3f8, 1, true, i & 0xff);
        }
        assertEquals(CoalescedRing.CAPACITY - 1, drain());
        for (int i = 0; i < 5; i++) {
            record(0x3f8, 1, true, 'a' + i);
        }
        seen.clear();
        assertEquals(5, drain());
        assertEquals(List.of(0x61L, 0x62L, 0x63L, 0x64L, 0x65L), seen.stream().map(Write::value).toList());
        assertEquals(4, page.get(ValueLayout.JAVA_INT, 0));
    }

    @Test
    void an_index_outside_the_ring_is_an_error_not_an_access_outside_the_page() {
        page.set(ValueLayout.JAVA_INT, 4, CoalescedRing.CAPACITY);
        KvmException e = assertThrows(KvmException.class, this::drain);
        assertTrue(e.getMessage().contains("last index is 170"), e.getMessage());
        page.set(ValueLayout.JAVA_INT, 4, 0);
        page.set(ValueLayout.JAVA_INT, 0, -1);
        assertThrows(KvmException.class, this::drain);
        assertEquals(List.of(), seen);
    }

    @Test
    void a_write_the_sink_fails_on_stays_for_the_next_drain() {
        record(0x3f8, 1, true, 'a');
        record(0x3f8, 1, true, 'b');
        RuntimeException failure = new RuntimeException("the console is gone");
        assertThrows(RuntimeException.class, () -> ring.drain((pio, address, size, value) -> {
            if (value == 'b') {
                throw failure;
            }
        }, true));
        assertFalse(ring.isEmpty());
        assertEquals(1, drain());
        assertEquals(List.of(new Write(true, 0x3f8, 1, 'b')), seen, "'a' was taken, 'b' was not");
    }

    @Test
    void a_length_outside_one_to_eight_is_clamped() {
        record(0x3f8, 0, true, 0x1234);
        record(0x3f8, 200, true, -1L);
        drain();
        assertEquals(List.of(new Write(true, 0x3f8, 1, 0x34), new Write(true, 0x3f8, 8, -1L)), seen);
    }

    @Test
    void a_drain_that_need_not_wait_leaves_the_ring_to_the_thread_draining_it() throws Exception {
        record(0x3f8, 1, true, 'x');
        int[] other = new int[1];
        ring.drain((pio, address, size, value) -> {
            Thread elsewhere = Thread.ofPlatform().start(() -> other[0] = ring.drain((p, a, s, v) -> { }, false));
            try {
                elsewhere.join();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, true);
        assertEquals(0, other[0], "returned at once, handed over nothing");
        assertTrue(ring.isEmpty());
    }

    @Test
    void a_ring_needs_a_whole_page() {
        assertThrows(IllegalArgumentException.class, () -> new CoalescedRing(arena.allocate(4095)));
    }
}
