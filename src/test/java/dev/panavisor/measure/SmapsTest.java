package dev.panavisor.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SmapsTest {
    /** A synthetic smaps: a jar, the guest's 256 MiB anonymous mapping, the heap, a stack guard. */
    private static final List<String> SAMPLE = List.of(
            "55d4c8a00000-55d4c8a01000 r--p 00000000 08:01 1234                       /usr/bin/java",
            "Size:                  4 kB",
            "Rss:                   4 kB",
            "Pss:                   2 kB",
            "Shared_Clean:          4 kB",
            "Private_Clean:         0 kB",
            "Private_Dirty:         0 kB",
            "VmFlags: rd mr mw me dw sd",
            "7f0000000000-7f0010000000 rw-p 00000000 00:00 0 ",
            "Size:             262144 kB",
            "Rss:               20480 kB",
            "Pss:               20480 kB",
            "Private_Clean:         0 kB",
            "Private_Dirty:     20480 kB",
            "Anonymous:         20480 kB",
            "THPeligible:    1",
            "7f0010000000-7f0010400000 rw-p 00000000 00:00 0                          [heap]",
            "Size:               4096 kB",
            "Rss:                3000 kB",
            "Pss:                3000 kB",
            "Private_Clean:       100 kB",
            "Private_Dirty:      2900 kB",
            "Anonymous:          2900 kB",
            "7ffd00000000-7ffd00001000 ---p 00000000 00:00 0 ",
            "Size:                  4 kB",
            "Rss:                   0 kB",
            "Pss:                   0 kB");

    @Test
    void parsesEveryMappingWithItsSizes() {
        Smaps smaps = Smaps.parse(SAMPLE);
        assertEquals(4, smaps.mappings().size());
        Smaps.Mapping java = smaps.mappings().get(0);
        assertEquals("/usr/bin/java", java.name());
        assertEquals("r--p", java.perms());
        assertEquals(4096, java.size());
        assertEquals(2048, java.pss());
        Smaps.Mapping heap = smaps.mappings().get(2);
        assertEquals("[heap]", heap.name());
        assertEquals(3000 * 1024L, heap.privateBytes());
        assertEquals(2900 * 1024L, heap.anonymousBytes());
        assertEquals(0, java.anonymousBytes(), "a file's page read, never written");
        assertTrue(smaps.mappings().get(1).anonymous());
        assertEquals((4 + 20480 + 3000) * 1024L, smaps.rss());
        assertEquals((2 + 20480 + 3000) * 1024L, smaps.pss());
    }

    @Test
    void overheadLeavesOutTheGuestMappingFoundByAddress() {
        Smaps.Overhead overhead = Smaps.parse(SAMPLE).overhead(Smaps.at(0x7f0000000000L + 4096, 4096));
        assertEquals(20480 * 1024L, overhead.guestRss());
        assertEquals((4 + 3000) * 1024L, overhead.vmmRss());
        assertEquals((2 + 3000) * 1024L, overhead.vmmPss());
        assertEquals(2900 * 1024L, overhead.vmmAnonymous(), "the heap's pages, not the guest's or the file's");
    }

    @Test
    void overheadFindsAnAnonymousGuestMappingBySize() {
        Smaps smaps = Smaps.parse(SAMPLE);
        assertEquals((4 + 3000) * 1024L, smaps.overhead(Smaps.anonymousAtLeast(256L << 20)).vmmRss());
        // A larger guest than any mapping: nothing is guest memory, all of it is overhead.
        assertEquals(smaps.rss(), smaps.overhead(Smaps.anonymousAtLeast(512L << 20)).vmmRss());
    }

    @Test
    void rangesThatOnlyTouchDoNotOverlap() {
        Smaps.Mapping m = new Smaps.Mapping(0x1000, 0x2000, "rw-p", "", 0, 0, 0, 0);
        assertTrue(m.overlaps(0x1fff, 1));
        assertFalse(m.overlaps(0x2000, 0x1000));
        assertFalse(m.overlaps(0x0, 0x1000));
    }

    @Test
    void readsThisProcessAndFailsClearlyForAMissingOne() {
        Smaps self = Smaps.ofSelf();
        assertTrue(self.rss() > 1 << 20, "a JVM has more than 1 MiB resident");
        assertTrue(self.pss() <= self.rss());
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> Smaps.ofProcess(Integer.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("no such process or file"), e.getMessage());
    }

    @Test
    void anExactSizeMatchFindsPanavisorsGuestMappingAndNothingElse() {
        Smaps smaps = Smaps.parse(SAMPLE);
        assertEquals((4 + 3000) * 1024L, smaps.overhead(Smaps.anonymousOfSize(256L << 20)).vmmRss());
        // A heap of 4 MiB is anonymous and writable too, but not the guest's size: it stays overhead.
        assertEquals(smaps.rss(), smaps.overhead(Smaps.anonymousOfSize(128L << 20)).vmmRss());
    }

    @Test
    void anonymousCountsAFileMappingsWrittenCopiesButNotItsFilePagesOrSharedWrites() {
        Smaps smaps = Smaps.parse(List.of(
                // An AOT cache mapped private and writable: 600 kB written (copies), 400 kB still the file's.
                "66001000-66675000 rw-p 00001000 00:1a 10                                 /tmp/c.aot",
                "Rss:                1000 kB", "Pss:                1000 kB", "Private_Clean:       400 kB",
                "Private_Dirty:       600 kB", "Anonymous:           600 kB",
                // A file mapped shared and written: dirty, but the file's own pages, not anonymous.
                "7f5c28ef8000-7f5c28f56000 rw-s 00000000 00:1a 11                         /tmp/shared.bin",
                "Rss:                 200 kB", "Pss:                 200 kB", "Private_Dirty:       200 kB",
                "Anonymous:             0 kB",
                // The guest's memory: anonymous, but not the VMM's.
                "7f0000000000-7f0010000000 rw-p 00000000 00:00 0 ",
                "Rss:                2048 kB", "Pss:                2048 kB", "Private_Dirty:      2048 kB",
                "Anonymous:          2048 kB"));
        assertEquals(600 * 1024L, smaps.mappings().get(0).anonymousBytes());
        assertEquals(0, smaps.mappings().get(1).anonymousBytes(), "written, yet the file holds it");
        Smaps.Overhead overhead = smaps.overhead(Smaps.anonymousOfSize(256L << 20));
        assertEquals(1200 * 1024L, overhead.vmmRss());
        assertEquals(600 * 1024L, overhead.vmmAnonymous(), "the cache's copies only");
    }

    @Test
    void aRollupIsOneMappingWithTheProcesssTotals() {
        Smaps rollup = Smaps.parse(List.of(
                "55d4c8a00000-7ffd00001000 ---p 00000000 00:00 0                          [rollup]",
                "Rss:               23484 kB", "Pss:               23482 kB", "Pss_Anon:          23480 kB",
                "Private_Dirty:     23380 kB", "Anonymous:         23400 kB"));
        assertEquals(1, rollup.mappings().size());
        assertEquals(23400 * 1024L, rollup.mappings().getFirst().anonymousBytes(), "Pss_Anon is another field");
        assertEquals(23484 * 1024L, rollup.rss());
        assertEquals(23482 * 1024L, rollup.pss());
        long pid = ProcessHandle.current().pid();
        Smaps self = Smaps.rollupOfProcess(pid);
        assertTrue(self.pss() > 1 << 20, "this JVM's rollup: " + self.pss());
    }
}
