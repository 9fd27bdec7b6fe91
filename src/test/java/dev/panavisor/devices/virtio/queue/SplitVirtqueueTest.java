package dev.panavisor.devices.virtio.queue;

import static dev.panavisor.devices.virtio.queue.DriverQueue.readable;
import static dev.panavisor.devices.virtio.queue.DriverQueue.writable;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.HeapGuestMemory;
import org.junit.jupiter.api.Test;

class SplitVirtqueueTest {
    static final int SIZE = 8;
    static final long QUEUE_BASE = 0x1000;
    static final long DATA = 0x8000;

    final GuestMemory memory = new HeapGuestMemory(0x10000);
    final QueueLayout layout = QueueLayout.contiguous(QUEUE_BASE, SIZE);
    final DriverQueue driver = new DriverQueue(memory, layout);

    SplitVirtqueue device(boolean eventIdx, boolean indirect) {
        return new SplitVirtqueue(memory, layout, SIZE, eventIdx, indirect);
    }

    @Test
    void pops_a_chain_with_readable_segments_first_and_returns_it_through_the_used_ring() {
        SplitVirtqueue queue = device(false, false);
        memory.write(DATA, new byte[] {1, 2, 3, 4, 5, 6});
        int head = driver.add(readable(DATA, 4), readable(DATA + 4, 2), writable(DATA + 0x100, 16));

        DescriptorChain chain = queue.pop();
        assertNotNull(chain);
        assertEquals(head, chain.headIndex());
        assertEquals(3, chain.segmentCount());
        assertEquals(2, chain.readableSegmentCount());
        assertEquals(6, chain.readableBytes());
        assertEquals(16, chain.writableBytes());
        assertTrue(chain.isWritable(2));

        byte[] header = new byte[5];
        // A read that spans two descriptors: framing is independent of content (§2.7.4).
        assertEquals(5, chain.readFromReadable(1, header, 0, 5));
        assertArrayEquals(new byte[] {2, 3, 4, 5, 6}, header);
        assertEquals(3, chain.writeToWritable(0, new byte[] {9, 8, 7}, 0, 3));
        assertEquals(9, memory.readU8(DATA + 0x100));
        assertNull(queue.pop(), "only one chain was published");

        queue.addUsed(chain.headIndex(), 3);
        DriverQueue.Used used = driver.pollUsed();
        assertEquals(new DriverQueue.Used(head, 3), used);
        assertEquals(SIZE, driver.freeDescriptors());
    }

    @Test
    void indices_wrap_around_at_65536() {
        SplitVirtqueue queue = device(true, false);
        int rounds = 65536 + 5;
        for (int round = 0; round < rounds; round++) {
            // Two chains in flight at a time, so the wrap happens with a non-empty ring too.
            int first = driver.add(readable(DATA, 1));
            int second = driver.add(readable(DATA + 1, 1), writable(DATA + 2, 1));
            DescriptorChain chain = queue.pop();
            assertEquals(first, chain.headIndex(), "round " + round);
            queue.addUsed(chain.headIndex(), 0);
            chain = queue.pop();
            assertEquals(second, chain.headIndex(), "round " + round);
            queue.addUsed(chain.headIndex(), 1);
            assertNull(queue.pop());
            assertEquals(new DriverQueue.Used(first, 0), driver.pollUsed());
            assertEquals(new DriverQueue.Used(second, 1), driver.pollUsed());
        }
        int expected = (2 * rounds) & 0xffff;
        assertEquals(expected, driver.availIdx());
        assertEquals(expected, queue.lastAvailIdx());
        assertEquals(expected, driver.usedIdx());
        assertEquals(expected, driver.availEvent());
        assertEquals(SIZE, driver.freeDescriptors());
    }

    @Test
    void filled_used_elements_stay_unseen_until_one_flush_publishes_them_all_across_the_index_wrap() {
        SplitVirtqueue queue = device(true, false);
        int rounds = 65536 / 3 + 3; // three elements a round: the used index wraps inside a batch
        for (int round = 0; round < rounds; round++) {
            int[] heads = {driver.add(writable(DATA, 1)), driver.add(writable(DATA + 1, 1)),
                driver.add(writable(DATA + 2, 1))};
            int before = driver.usedIdx();
            for (int i = 0; i < 3; i++) {
                queue.fillUsed(queue.pop().headIndex(), i + 1);
            }
            assertEquals(before, driver.usedIdx(), "round " + round + ": nothing is published before the flush");
            assertNull(driver.pollUsed());
            queue.flushUsed();
            assertEquals((before + 3) & 0xffff, driver.usedIdx(), "round " + round);
            for (int i = 0; i < 3; i++) {
                assertEquals(new DriverQueue.Used(heads[i], i + 1), driver.pollUsed(), "round " + round);
            }
        }
        queue.flushUsed(); // nothing filled: no change
        assertEquals((3 * rounds) & 0xffff, driver.usedIdx());
        assertEquals(SIZE, driver.freeDescriptors());
    }

    @Test
    void an_available_index_that_jumps_more_than_the_queue_size_is_an_error_not_a_long_loop() {
        SplitVirtqueue queue = device(false, false);
        driver.setAvailIdx(SIZE + 1);
        VirtqueueException e = assertThrows(VirtqueueException.class, queue::pop);
        assertTrue(e.getMessage().contains("more than the queue size"), e.getMessage());
        // Going "backwards" is the same as jumping forward by almost 65536.
        driver.setAvailIdx(0xffff);
        assertThrows(VirtqueueException.class, queue::hasAvailable);
    }

    @Test
    void a_descriptor_pointing_outside_guest_memory_is_rejected() {
        SplitVirtqueue queue = device(false, false);
        driver.add(readable(memory.size() - 4, 8));
        VirtqueueException e = assertThrows(VirtqueueException.class, queue::pop);
        assertTrue(e.getMessage().contains("outside guest memory"), e.getMessage());
    }

    @Test
    void an_address_plus_length_that_overflows_64_bits_is_rejected() {
        SplitVirtqueue queue = device(false, false);
        driver.add(readable(0xffff_ffff_ffff_f000L, 0xffff_ffffL));
        assertThrows(VirtqueueException.class, queue::pop);
    }

    @Test
    void a_loop_in_the_next_links_ends_as_an_error_after_at_most_queue_size_steps() {
        SplitVirtqueue queue = device(false, false);
        driver.writeDescriptor(0, DATA, 1, DescriptorChain.F_NEXT, 1);
        driver.writeDescriptor(1, DATA, 1, DescriptorChain.F_NEXT, 0);
        driver.publish(0);
        VirtqueueException e = assertThrows(VirtqueueException.class, queue::pop);
        assertTrue(e.getMessage().contains("longer than the queue size"), e.getMessage());
    }

    @Test
    void a_self_loop_and_a_next_index_outside_the_table_are_rejected() {
        SplitVirtqueue queue = device(false, false);
        driver.writeDescriptor(3, DATA, 1, DescriptorChain.F_NEXT, 3);
        driver.publish(3);
        assertThrows(VirtqueueException.class, queue::pop);

        SplitVirtqueue fresh = new SplitVirtqueue(memory, layout, SIZE, false, false);
        DriverQueue driver2 = new DriverQueue(memory, layout);
        driver2.writeDescriptor(0, DATA, 1, DescriptorChain.F_NEXT, SIZE);
        driver2.publish(0);
        VirtqueueException e = assertThrows(VirtqueueException.class, fresh::pop);
        assertTrue(e.getMessage().contains("outside its table"), e.getMessage());
    }

    @Test
    void a_head_index_outside_the_table_is_rejected() {
        SplitVirtqueue queue = device(false, false);
        driver.publish(SIZE + 3);
        assertThrows(VirtqueueException.class, queue::pop);
    }

    @Test
    void a_readable_descriptor_after_a_writable_one_is_rejected() {
        SplitVirtqueue queue = device(false, false);
        driver.add(writable(DATA, 4), readable(DATA + 4, 4));
        VirtqueueException e = assertThrows(VirtqueueException.class, queue::pop);
        assertTrue(e.getMessage().contains("device-readable descriptor after a device-writable"), e.getMessage());
    }

    @Test
    void indirect_tables_are_followed_when_negotiated_and_refused_otherwise() {
        long table = 0x4000;
        SplitVirtqueue queue = device(false, true);
        int head = driver.addIndirect(table, readable(DATA, 16), writable(DATA + 16, 512), writable(DATA + 600, 1));
        DescriptorChain chain = queue.pop();
        assertEquals(head, chain.headIndex());
        assertEquals(3, chain.segmentCount());
        assertEquals(16, chain.readableBytes());
        assertEquals(513, chain.writableBytes());
        assertEquals(DATA + 600, chain.writableAddress(512));

        SplitVirtqueue strict = new SplitVirtqueue(memory, layout, SIZE, false, false);
        DriverQueue driver2 = new DriverQueue(memory, layout);
        driver2.addIndirect(table, readable(DATA, 16));
        VirtqueueException e = assertThrows(VirtqueueException.class, strict::pop);
        assertTrue(e.getMessage().contains("VIRTIO_F_INDIRECT_DESC"), e.getMessage());
    }

    /**
     * An indirect table is copied out of guest memory in one read and walked from the copy: a driver that rewrites
     * the table meanwhile (here, as soon as it has been read) changes nothing in the chain the device got.
     */
    @Test
    void an_indirect_table_is_read_at_once_and_a_driver_rewriting_it_meanwhile_changes_nothing() {
        long table = 0x4000;
        RewritesAfterRead racing = new RewritesAfterRead(0x10000, table);
        SplitVirtqueue queue = new SplitVirtqueue(racing, layout, SIZE, false, true);
        DriverQueue racingDriver = new DriverQueue(racing, layout);
        racingDriver.addIndirect(table, readable(DATA, 16), writable(DATA + 16, 512), writable(DATA + 600, 1));
        DescriptorChain chain = queue.pop();
        assertTrue(racing.rewritten);
        assertEquals(3, chain.segmentCount());
        assertEquals(DATA + 16, chain.address(1));
        assertEquals(512, chain.length(1));
        assertEquals(DATA + 600, chain.writableAddress(512));
        assertEquals(0xdead_0000L, racing.readU64(table + 16), "the driver did rewrite it");
    }

    /**
     * No correct driver makes an indirect table with more entries than the queue, but the format allows one; the
     * device then reads it descriptor by descriptor instead of copying it, and follows it all the same.
     */
    @Test
    void an_indirect_table_longer_than_the_queue_is_still_followed() {
        long table = 0x4000;
        SplitVirtqueue queue = device(false, true);
        int entries = SIZE + 1;
        memory.writeU64(table, DATA); // entry 0: the readable header, linked to the table's last entry
        memory.writeU32(table + 8, 16);
        memory.writeU16(table + 12, DescriptorChain.F_NEXT);
        memory.writeU16(table + 14, entries - 1);
        long last = table + 16L * (entries - 1);
        memory.writeU64(last, DATA + 64);
        memory.writeU32(last + 8, 8);
        memory.writeU16(last + 12, DescriptorChain.F_WRITE);
        driver.writeDescriptor(0, table, 16 * entries, DescriptorChain.F_INDIRECT, 0);
        driver.publish(0);
        DescriptorChain chain = queue.pop();
        assertEquals(2, chain.segmentCount());
        assertEquals(DATA + 64, chain.address(1));
        assertEquals(8, chain.writableBytes());
    }

    /**
     * Guest memory that, at the device's first read of the indirect table at {@code table} (of the whole table, or
     * of its first entry), overwrites the table's second entry with one pointing outside memory.
     */
    static final class RewritesAfterRead extends dev.panavisor.memory.SegmentGuestMemory {
        final long table;
        boolean rewritten;

        RewritesAfterRead(long size, long table) {
            super(java.lang.foreign.Arena.ofAuto().allocate(size, 4096));
            this.table = table;
        }

        @Override
        public void readU64s(long address, long[] dst, int count) {
            super.readU64s(address, dst, count);
            rewriteOnce(address);
        }

        @Override
        public long readU64(long address) {
            long value = super.readU64(address);
            rewriteOnce(address);
            return value;
        }

        private void rewriteOnce(long address) {
            if (address == table && !rewritten) {
                rewritten = true;
                writeU64(table + 16, 0xdead_0000L);
                writeU32(table + 24, 4096);
            }
        }
    }

    @Test
    void malformed_indirect_tables_are_rejected() {
        long table = 0x4000;
        // Nested: an indirect table whose entry is itself indirect.
        SplitVirtqueue queue = device(false, true);
        memory.writeU64(table, 0x5000);
        memory.writeU32(table + 8, 16);
        memory.writeU16(table + 12, DescriptorChain.F_INDIRECT);
        driver.writeDescriptor(0, table, 16, DescriptorChain.F_INDIRECT, 0);
        driver.publish(0);
        assertTrue(assertThrows(VirtqueueException.class, queue::pop).getMessage().contains("nests"));

        // Length not a multiple of 16.
        queue = device(false, true);
        driver.writeDescriptor(0, table, 20, DescriptorChain.F_INDIRECT, 0);
        driver.publish(0);
        assertThrows(VirtqueueException.class, queue::pop);

        // INDIRECT together with NEXT.
        queue = device(false, true);
        driver.writeDescriptor(0, table, 16, DescriptorChain.F_INDIRECT | DescriptorChain.F_NEXT, 1);
        driver.publish(0);
        assertThrows(VirtqueueException.class, queue::pop);

        // A loop inside the indirect table is bounded by the queue size too.
        queue = device(false, true);
        memory.writeU64(table, DATA);
        memory.writeU32(table + 8, 1);
        memory.writeU16(table + 12, DescriptorChain.F_NEXT);
        memory.writeU16(table + 14, 0);
        driver.writeDescriptor(0, table, 16, DescriptorChain.F_INDIRECT, 0);
        driver.publish(0);
        assertTrue(assertThrows(VirtqueueException.class, queue::pop).getMessage().contains("longer than"));
    }

    @Test
    void ring_layouts_that_are_misaligned_outside_memory_or_of_bad_size_are_refused() {
        assertThrows(VirtqueueException.class,
                () -> new SplitVirtqueue(memory, new QueueLayout(SIZE, 0x1008, 0x2000, 0x3000), SIZE, false, false));
        assertThrows(VirtqueueException.class,
                () -> new SplitVirtqueue(memory, new QueueLayout(SIZE, 0x1000, 0x2001, 0x3000), SIZE, false, false));
        assertThrows(VirtqueueException.class,
                () -> new SplitVirtqueue(memory, new QueueLayout(SIZE, 0x1000, 0x2000, 0x3002), SIZE, false, false));
        assertThrows(VirtqueueException.class,
                () -> new SplitVirtqueue(memory, new QueueLayout(SIZE, 0x1000, 0x2000, 0xfff0), SIZE, false, false));
        assertThrows(VirtqueueException.class,
                () -> new SplitVirtqueue(memory, QueueLayout.contiguous(0x1000, 6), SIZE, false, false));
        assertThrows(VirtqueueException.class,
                () -> new SplitVirtqueue(memory, QueueLayout.contiguous(0x1000, 16), SIZE, false, false));
    }

    @Test
    void without_event_idx_every_batch_notifies_unless_the_driver_sets_no_interrupt() {
        SplitVirtqueue queue = device(false, false);
        assertFalse(queue.needsNotification(), "nothing used yet");
        completeOne(queue);
        assertTrue(queue.needsNotification());
        assertFalse(queue.needsNotification(), "nothing new since the last check");
        driver.setNoInterrupt(true);
        completeOne(queue);
        assertFalse(queue.needsNotification());
    }

    @Test
    void with_event_idx_the_device_notifies_only_when_the_used_index_passes_used_event() {
        SplitVirtqueue queue = device(true, false);
        driver.setUsedEvent(2); // "tell me once the entry with index 2 is used", i.e. when used idx reaches 3
        completeOne(queue); // used idx 1
        assertFalse(queue.needsNotification());
        completeOne(queue); // 2
        assertFalse(queue.needsNotification());
        completeOne(queue); // 3: crossed
        assertTrue(queue.needsNotification());
        completeOne(queue); // 4
        assertFalse(queue.needsNotification(), "used_event is behind; no more notifications until it moves");

        // A batch that jumps over used_event in one go still notifies.
        driver.setUsedEvent(5);
        completeOne(queue);
        completeOne(queue);
        completeOne(queue); // 7
        assertTrue(queue.needsNotification());
    }

    @Test
    void with_event_idx_the_device_asks_for_a_notification_at_the_next_buffer_when_it_finds_the_ring_empty() {
        SplitVirtqueue queue = device(true, false);
        driver.add(readable(DATA, 1));
        driver.add(readable(DATA, 1));
        assertNotNull(queue.pop());
        assertNotNull(queue.pop());
        assertNull(queue.pop());
        assertEquals(2, driver.availEvent(), "avail_event = the device's next available index");
    }

    @Test
    void held_notifications_leave_avail_event_behind_until_released() {
        SplitVirtqueue queue = device(true, false);
        driver.add(readable(DATA, 1));
        assertNotNull(queue.pop());
        assertNull(queue.pop());
        assertEquals(1, driver.availEvent());

        queue.holdNotifications();
        driver.add(readable(DATA, 1));
        assertNotNull(queue.pop());
        assertNull(queue.pop());
        assertEquals(1, driver.availEvent(), "an empty ring found while held asks for nothing");
        driver.add(readable(DATA, 1));
        assertTrue(queue.peekAvailable());
        assertEquals(1, driver.availEvent(), "nor does peeking");

        assertTrue(queue.releaseNotifications(), "a chain came while held: serve it rather than sleep");
        assertNotNull(queue.pop());
        assertNull(queue.pop());
        assertEquals(3, driver.availEvent(), "released: an empty ring asks again");
        assertFalse(queue.releaseNotifications());
        assertFalse(queue.peekAvailable());
    }

    @Test
    void a_disabled_queue_is_not_touched() {
        SplitVirtqueue queue = device(false, false);
        driver.add(readable(DATA, 1));
        queue.disable();
        assertFalse(queue.hasAvailable());
        assertNull(queue.pop());
        queue.addUsed(0, 1);
        assertEquals(0, driver.usedIdx());
    }

    private void completeOne(SplitVirtqueue queue) {
        driver.add(readable(DATA, 1));
        DescriptorChain chain = queue.pop();
        queue.addUsed(chain.headIndex(), 0);
        driver.pollUsed();
    }
}
