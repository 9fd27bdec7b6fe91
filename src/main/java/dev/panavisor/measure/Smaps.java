package dev.panavisor.measure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A process's memory map with what each mapping costs, read from {@code /proc/PID/smaps} (Linux
 * Documentation/filesystems/proc.rst, "The /proc/PID/smaps"). This is how Firecracker's tests measure a VMM's
 * overhead: the resident set of the whole process minus what the guest's own memory mapping holds, so the guest's
 * pages (which any VMM needs) do not count against the VMM.
 *
 * <p>Each mapping starts with a header line ({@code start-end perms offset dev inode [path]}), followed by
 * {@code Field: N kB} lines. Only the fields used here are kept: Rss (pages resident), Pss (resident, each shared
 * page divided by the number of processes mapping it: the fair share to add up over many instances), the
 * private clean and dirty pages, and Anonymous (the pages that belong to no file).
 */
public record Smaps(List<Mapping> mappings) {
    private static final Pattern HEADER =
            Pattern.compile("^([0-9a-f]+)-([0-9a-f]+)\\s+(\\S+)\\s+\\S+\\s+\\S+\\s+\\d+\\s*(.*)$");
    private static final Pattern FIELD = Pattern.compile("^(\\w+):\\s+(\\d+) kB$");

    public Smaps {
        mappings = List.copyOf(mappings);
    }

    /**
     * One mapping: its address range, permissions, path or pseudo-name ("" when anonymous), and sizes in bytes;
     * {@code anonymousBytes} counts the pages that belong to no file: all of an anonymous mapping's, and a file
     * mapping's private copies (pages written since it was mapped, which the file no longer holds).
     */
    public record Mapping(long start, long end, String perms, String name, long rss, long pss, long privateBytes,
            long anonymousBytes) {
        public long size() {
            return end - start;
        }

        public boolean anonymous() {
            return name.isEmpty();
        }

        /** Whether this mapping overlaps the address range [address, address + length). */
        public boolean overlaps(long address, long length) {
            return Long.compareUnsigned(start, address + length) < 0 && Long.compareUnsigned(address, end) < 0;
        }
    }

    /** The smaps of a process, or a clear error when the process is gone or the file cannot be read. */
    public static Smaps ofProcess(long pid) {
        return read(Path.of("/proc", Long.toString(pid), "smaps"));
    }

    /**
     * A process's totals only, from {@code /proc/PID/smaps_rollup} (Linux 4.14+): one pseudo-mapping named
     * "[rollup]" holding the sums over all mappings, much cheaper to read than the full map when only Rss and Pss
     * of the whole process are wanted (per-instance PSS of container runtimes).
     */
    public static Smaps rollupOfProcess(long pid) {
        return read(Path.of("/proc", Long.toString(pid), "smaps_rollup"));
    }

    /** This process's own smaps. */
    public static Smaps ofSelf() {
        return read(Path.of("/proc/self/smaps"));
    }

    public static Smaps read(Path file) {
        try {
            return parse(Files.readAllLines(file));
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("no such process or file: " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses smaps text; lines it does not know (VmFlags, THPeligible, ...) are skipped. */
    public static Smaps parse(List<String> lines) {
        List<Mapping> mappings = new ArrayList<>();
        Builder current = null;
        for (String line : lines) {
            Matcher header = HEADER.matcher(line);
            if (header.matches()) {
                if (current != null) {
                    mappings.add(current.build());
                }
                current = new Builder(Long.parseUnsignedLong(header.group(1), 16),
                        Long.parseUnsignedLong(header.group(2), 16), header.group(3), header.group(4).strip());
                continue;
            }
            Matcher field = FIELD.matcher(line);
            if (current != null && field.matches()) {
                long bytes = Long.parseLong(field.group(2)) * 1024;
                switch (field.group(1)) {
                    case "Rss" -> current.rss = bytes;
                    case "Pss" -> current.pss = bytes;
                    case "Private_Clean", "Private_Dirty" -> current.privateBytes += bytes;
                    case "Anonymous" -> current.anonymousBytes = bytes;
                    default -> { }
                }
            }
        }
        if (current != null) {
            mappings.add(current.build());
        }
        return new Smaps(mappings);
    }

    public long rss() {
        return sum(mappings, Mapping::rss, m -> true);
    }

    public long pss() {
        return sum(mappings, Mapping::pss, m -> true);
    }

    /**
     * The VMM's own memory: the process's resident set minus the resident pages of the mappings that hold guest
     * memory ({@code guestRam} picks them). Pss is given too: the share that adds up over many VMMs on one host; and
     * the anonymous pages, the part of it that no file holds.
     */
    public Overhead overhead(Predicate<Mapping> guestRam) {
        return new Overhead(rss(), sum(mappings, Mapping::rss, guestRam), pss(), sum(mappings, Mapping::pss, guestRam),
                sum(mappings, Mapping::anonymousBytes, guestRam.negate()));
    }

    /** Mappings whose name matches: "[heap]", "[stack]", a library path, ... */
    public long rssOf(Predicate<Mapping> which) {
        return sum(mappings, Mapping::rss, which);
    }

    /** Guest memory a VMM mapped at a known host address (Panavisor knows its own mapping). */
    public static Predicate<Mapping> at(long hostAddress, long length) {
        return m -> m.overlaps(hostAddress, length);
    }

    /**
     * Guest memory of a VMM that does not say where it mapped it (QEMU): the anonymous writable mappings at least
     * as large as the guest's memory. QEMU maps each RAM block as one anonymous region of the block's size (plus
     * alignment), and nothing else it maps is that large for the small guests measured here.
     */
    public static Predicate<Mapping> anonymousAtLeast(long guestBytes) {
        return m -> m.anonymous() && m.perms().startsWith("rw") && m.size() >= guestBytes;
    }

    /**
     * Guest memory of a VMM that maps it as one anonymous writable region of exactly the guest's size (Panavisor's
     * MappedGuestMemory). Stricter than {@link #anonymousAtLeast}: a JVM's committed heap may be that large too,
     * but is rarely exactly the guest's size.
     */
    public static Predicate<Mapping> anonymousOfSize(long guestBytes) {
        return m -> m.anonymous() && m.perms().startsWith("rw") && m.size() == guestBytes;
    }

    /**
     * A VMM's resident memory, total and guest memory's part, in bytes; Rss and Pss; and {@code vmmAnonymous}, the
     * resident pages outside guest memory that belong to no file (heaps, stacks, the JIT's code, a file mapping's
     * written copies). The rest of the VMM's resident set is files' pages (its binary, its libraries, what a JVM maps
     * of its AOT cache unwritten): the kernel's page cache holds them, shares them with every process that maps the
     * same file, and can drop them when memory is short; anonymous pages only swap can take. (That rest also holds
     * shared memory that is no file's, such as the vCPUs' kvm_run pages: a few KiB.)
     */
    public record Overhead(long rss, long guestRss, long pss, long guestPss, long vmmAnonymous) {
        /** The VMM's own resident memory: everything but the guest's pages. */
        public long vmmRss() {
            return rss - guestRss;
        }

        public long vmmPss() {
            return pss - guestPss;
        }
    }

    private static long sum(List<Mapping> mappings, ToLongFunction<Mapping> field, Predicate<Mapping> which) {
        long total = 0;
        for (Mapping m : mappings) {
            if (which.test(m)) {
                total += field.applyAsLong(m);
            }
        }
        return total;
    }

    private static final class Builder {
        final long start;
        final long end;
        final String perms;
        final String name;
        long rss;
        long pss;
        long privateBytes;
        long anonymousBytes;

        Builder(long start, long end, String perms, String name) {
            this.start = start;
            this.end = end;
            this.perms = perms;
            this.name = name;
        }

        Mapping build() {
            return new Mapping(start, end, perms, name, rss, pss, privateBytes, anonymousBytes);
        }
    }
}
