package dev.panavisor.cli;

import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code panavisor bench io} runs inside the guest, and how the host reads the answers. The guest side is
 * {@code tools/bench/io-load.c} (its header says why O_DIRECT, processes for queue depth, fsync); this class knows
 * the command lines it takes and the one line it prints. Pure: no VM, no files, so it is tested anywhere.
 */
final class IoWorkload {
    /** Where the bench initramfs puts io-load. */
    static final String GUEST_PROGRAM = "/bench/io-load";
    /** The benchmark disk inside the guest: the only virtio-blk device under both VMMs. */
    static final String GUEST_DISK = "/dev/vda";
    static final long MIB = 1L << 20;

    private static final Pattern RESULT = Pattern.compile(
            "io-load: test=(\\w+) jobs=(\\d+) bytes=(\\d+) ops=(\\d+) seconds=([0-9.]+)");
    private static final Pattern EXIT_STATS = Pattern.compile("panavisor: (\\d+) exits; busiest: (.*)");

    private IoWorkload() {
    }

    /** The four measurements, each in its own fresh guest. */
    enum Metric {
        SEQ_READ("seq-read", "MiB/s", "seqread", 1),
        SEQ_WRITE("seq-write", "MiB/s", "seqwrite", 1),
        RANDREAD_QD1("randread-4k-qd1", "IOPS", "randread", 1),
        RANDREAD_QD8("randread-4k-qd8", "IOPS", "randread", 8);

        final String label;
        final String unit;
        final String test;
        final int jobs;

        Metric(String label, String unit, String test, int jobs) {
            this.label = label;
            this.unit = unit;
            this.test = test;
            this.jobs = jobs;
        }

        /**
         * The guest shell command: flush and drop the guest's page cache (io-load reads with O_DIRECT anyway; this
         * keeps anything the boot cached out of the picture), then the one test.
         */
        String guestCommand(long sizeMiB, int seconds) {
            String load = GUEST_PROGRAM + " " + GUEST_DISK + " " + test + " " + sizeMiB
                    + (test.equals("randread") ? " " + seconds + " " + jobs : "");
            return "sync; echo 3 > /proc/sys/vm/drop_caches; " + load;
        }

        /** The number this metric reports for one result: MiB/s for sequential tests, operations/s for random. */
        double value(Result result) {
            return unit.equals("IOPS") ? result.ops() / result.seconds() : result.mib() / result.seconds();
        }
    }

    /** One io-load line. */
    record Result(String test, int jobs, long bytes, long ops, double seconds) {
        double mib() {
            return (double) bytes / MIB;
        }
    }

    /**
     * The io-load result in the output of {@code program}'s VM (the console: kernel lines and the init's lines
     * around it).
     *
     * @throws RunFailedException when there is none, or it is for another test than {@code metric}
     */
    static Result parseResult(String program, String output, Metric metric) {
        Matcher m = RESULT.matcher(output);
        if (!m.find()) {
            throw new RunFailedException(program, "no io-load result for " + metric.label + " in " + program
                    + "'s guest output", output);
        }
        Result result = new Result(m.group(1), Integer.parseInt(m.group(2)), Long.parseLong(m.group(3)),
                Long.parseLong(m.group(4)), Double.parseDouble(m.group(5)));
        if (!result.test().equals(metric.test) || result.jobs() != metric.jobs || result.seconds() <= 0) {
            throw new RunFailedException(program, "unexpected io-load result for " + metric.label + " in "
                    + program + "'s guest output: " + m.group(), output);
        }
        return result;
    }

    /**
     * Panavisor's {@code --exit-stats} line: all exits of the run, and those on one MMIO page (the benchmark disk's
     * virtio-mmio registers), which is empty when that page is not among the busiest sources the line lists.
     */
    record ExitCounts(long total, OptionalLong onPage) {
    }

    /** The counts in a {@code run --exit-stats} output, if it has the line. */
    static Optional<ExitCounts> parseExitStats(String output, long mmioPage) {
        Matcher m = EXIT_STATS.matcher(output);
        if (!m.find()) {
            return Optional.empty();
        }
        Matcher page = Pattern.compile("mmio 0x" + Long.toHexString(mmioPage) + ": (\\d+)").matcher(m.group(2));
        return Optional.of(new ExitCounts(Long.parseLong(m.group(1)),
                page.find() ? OptionalLong.of(Long.parseLong(page.group(1))) : OptionalLong.empty()));
    }
}
