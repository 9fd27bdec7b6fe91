package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.panavisor.cli.IoWorkload.ExitCounts;
import dev.panavisor.cli.IoWorkload.Metric;
import dev.panavisor.cli.IoWorkload.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code panavisor bench io} without a VM: the guest commands, reading their output, the report's format. */
class BenchIoTest {
    private static final String PANAVISOR_OUTPUT = """
            panavisor-init: booted in 1.52 s\r
            io-load: test=seqread jobs=1 bytes=134217728 ops=128 seconds=2.000000\r
            panavisor-exit-status: 0\r
            panavisor: 760 exits; busiest: mmio 0xd0000000: 420, port 0x3f8: 300, other: 40
            """;

    @Test
    void each_metric_drops_the_cache_then_runs_one_test_on_the_disk() {
        assertEquals("sync; echo 3 > /proc/sys/vm/drop_caches; /bench/io-load /dev/vda seqread 128",
                Metric.SEQ_READ.guestCommand(128, 10));
        assertEquals("sync; echo 3 > /proc/sys/vm/drop_caches; /bench/io-load /dev/vda seqwrite 32",
                Metric.SEQ_WRITE.guestCommand(32, 3));
        assertTrue(Metric.RANDREAD_QD1.guestCommand(64, 5).endsWith("/bench/io-load /dev/vda randread 64 5 1"));
        assertTrue(Metric.RANDREAD_QD8.guestCommand(64, 5).endsWith("/bench/io-load /dev/vda randread 64 5 8"));
    }

    @Test
    void a_result_line_is_found_among_console_lines_and_becomes_a_rate() {
        Result seq = IoWorkload.parseResult("panavisor", PANAVISOR_OUTPUT, Metric.SEQ_READ);
        assertEquals(new Result("seqread", 1, 128L << 20, 128, 2.0), seq);
        assertEquals(64.0, Metric.SEQ_READ.value(seq), 1e-9);

        Result random = IoWorkload.parseResult("qemu",
                "x\nio-load: test=randread jobs=8 bytes=40960 ops=10 seconds=0.5\n", Metric.RANDREAD_QD8);
        assertEquals(20.0, Metric.RANDREAD_QD8.value(random), 1e-9);
    }

    @Test
    void a_missing_or_mismatched_result_is_one_clear_error() {
        String console = "[    1.0] virtio_blk virtio0: [vda] 262144 512-byte logical blocks\r\n".repeat(30)
                + "io-load: /dev/vda: No such file or directory\r\npanavisor-exit-status: 1\r\n";
        RunFailedException none = assertThrows(RunFailedException.class,
                () -> IoWorkload.parseResult("qemu-system-x86_64", console, Metric.SEQ_READ));
        assertEquals("no io-load result for seq-read in qemu-system-x86_64's guest output; the last lines it printed "
                + "are above", none.getMessage());
        // The guest's last lines say why; they go to stderr before the one line, not into it.
        assertEquals(RunFailedException.TAIL_LINES, none.tail().size());
        assertEquals(List.of("io-load: /dev/vda: No such file or directory", "panavisor-exit-status: 1"),
                none.tail().subList(none.tail().size() - 2, none.tail().size()));
        java.io.StringWriter err = new java.io.StringWriter();
        none.printTail(new java.io.PrintWriter(err));
        assertTrue(err.toString().startsWith("last lines of qemu-system-x86_64's output:\n  [    1.0] virtio_blk"),
                err.toString());
        assertThrows(RunFailedException.class, () -> IoWorkload.parseResult("panavisor",
                "io-load: test=randread jobs=1 bytes=4096 ops=1 seconds=1.0", Metric.RANDREAD_QD8));
        assertThrows(RunFailedException.class, () -> IoWorkload.parseResult("panavisor",
                "io-load: test=seqwrite jobs=1 bytes=4096 ops=1 seconds=1.0", Metric.SEQ_READ));
        assertThrows(RunFailedException.class, () -> IoWorkload.parseResult("panavisor",
                "io-load: test=seqread jobs=1 bytes=4096 ops=1 seconds=0.000000", Metric.SEQ_READ));
    }

    @Test
    void each_vm_run_gets_its_random_read_seconds_and_a_margin_for_the_rest() {
        // --seconds goes up to 600: a fixed five minutes cut the longest random-read tests off as "no result".
        for (int seconds : new int[] {1, 10, 299, 300, 600}) {
            java.time.Duration limit = BenchIoCommand.vmTimeLimit(seconds);
            assertTrue(limit.toSeconds() >= seconds + 60, "a boot's margin at least, for --seconds " + seconds);
            assertEquals(BenchIoCommand.VM_TIME_MARGIN.plusSeconds(seconds), limit, "--seconds " + seconds);
        }
        assertTrue(BenchIoCommand.vmTimeLimit(600).compareTo(BenchIoCommand.vmTimeLimit(300)) > 0);
    }

    @Test
    void a_disk_image_that_cannot_be_written_is_one_line(@TempDir Path dir) {
        Path gone = dir.resolve("no-such-directory");
        CommandFailedException e = assertThrows(CommandFailedException.class,
                () -> BenchIoCommand.createDisk(gone, 1));
        assertEquals("cannot write the 1 MiB disk image for the benchmark: " + gone.resolve("disk.img")
                + ": does not exist", e.getMessage());
    }

    @Test
    void exit_stats_give_the_total_and_the_disk_page() {
        ExitCounts counts = IoWorkload.parseExitStats(PANAVISOR_OUTPUT, 0xd000_0000L).orElseThrow();
        assertEquals(760, counts.total());
        assertEquals(OptionalLong.of(420), counts.onPage());
        assertEquals(OptionalLong.empty(),
                IoWorkload.parseExitStats(PANAVISOR_OUTPUT, 0xd000_1000L).orElseThrow().onPage());
        assertEquals(Optional.empty(), IoWorkload.parseExitStats("panavisor-exit-status: 0\n", 0xd000_0000L));
    }

    @Test
    void the_report_ends_with_one_ratio_line_per_metric_higher_is_better() {
        IoReport report = new IoReport(Optional.of(new ExitCounts(260, OptionalLong.of(20))));
        Optional<ExitCounts> exits = Optional.of(new ExitCounts(1_284, OptionalLong.of(532)));
        for (int round = 1; round <= 3; round++) {
            for (Metric metric : Metric.values()) {
                double seconds = metric == Metric.SEQ_READ ? round : 1.0; // panavisor seq-read 128, 64, 42.7 MiB/s
                Result panavisor = new Result(metric.test, metric.jobs, 128L << 20, 1000, seconds);
                Result qemu = new Result(metric.test, metric.jobs, 256L << 20, 4000, 1.0);
                String line = report.add(round, metric, panavisor, qemu, exits);
                assertTrue(line.startsWith("round " + round + " " + metric.label), line);
            }
        }
        List<String> lines = report.summary();
        List<String> last = lines.subList(lines.size() - 4, lines.size());
        assertEquals(List.of("ratio seq-read panavisor/qemu: 0.250", "ratio seq-write panavisor/qemu: 0.500",
                "ratio randread-4k-qd1 panavisor/qemu: 0.250", "ratio randread-4k-qd8 panavisor/qemu: 0.250"), last);
        Pattern scriptable = Pattern.compile("ratio [a-z0-9-]+ panavisor/qemu: [0-9]+\\.[0-9]{3}");
        last.forEach(line -> assertTrue(scriptable.matcher(line).matches(), line));
        // (532 - 20) exits on the disk's page and (1284 - 260) in all, for 128 MiB.
        assertTrue(lines.contains("  seq-read         4.0 on the disk's registers, 8.0 in all"), lines.toString());
        assertTrue(lines.contains("seq-read               64.0 MiB/s      256.0 MiB/s"), lines.toString());
        assertTrue(lines.contains("randread-4k-qd8         1000 IOPS        4000 IOPS"), lines.toString());
    }

    @Test
    void a_round_without_a_result_is_said_left_out_of_its_metric_and_a_metric_without_any_has_no_ratio() {
        IoReport report = new IoReport(Optional.empty());
        for (int round = 1; round <= 3; round++) {
            for (Metric metric : Metric.values()) {
                boolean lost = metric == Metric.RANDREAD_QD8 || (metric == Metric.SEQ_WRITE && round == 2);
                if (lost) {
                    String line = report.missing(round, metric, "timed out: qemu-system-x86_64 ...");
                    assertEquals("round " + round + " " + "%-16s".formatted(metric.label)
                            + " no result, left out: timed out: qemu-system-x86_64 ...", line);
                    continue;
                }
                double seconds = metric == Metric.SEQ_WRITE ? round : 1.0; // 128, (64 lost), 42.7 MiB/s
                Result panavisor = new Result(metric.test, metric.jobs, 128L << 20, 1000, seconds);
                Result qemu = new Result(metric.test, metric.jobs, 128L << 20, 1000, 1.0);
                report.add(round, metric, panavisor, qemu, Optional.empty());
            }
        }
        assertEquals(4, report.missing());
        List<String> lines = report.summary();
        assertTrue(lines.contains("seq-write              85.3 MiB/s      128.0 MiB/s   (2 rounds)"), lines.toString());
        assertTrue(lines.contains("randread-4k-qd8                 -                -"), lines.toString());
        assertEquals(List.of("ratio seq-read panavisor/qemu: 1.000", "ratio seq-write panavisor/qemu: 0.667",
                "ratio randread-4k-qd1 panavisor/qemu: 1.000"), lines.subList(lines.size() - 3, lines.size()));
    }

    @Test
    void without_exit_counts_the_report_says_so_and_still_ends_with_the_ratios() {
        IoReport report = new IoReport(Optional.empty());
        for (Metric metric : Metric.values()) {
            Result result = new Result(metric.test, metric.jobs, 1L << 20, 10, 1.0);
            report.add(1, metric, result, result, Optional.empty());
        }
        List<String> lines = report.summary();
        assertTrue(lines.stream().anyMatch(line -> line.startsWith("panavisor exits: not reported")));
        assertEquals("ratio randread-4k-qd8 panavisor/qemu: 1.000", lines.getLast());
    }

    @Test
    void options_default_small_with_quick_and_bad_values_are_refused() {
        BenchIoCommand quick = parse("--quick");
        assertTrue(quick.quick);
        BenchIoCommand sized = parse("--rounds", "2", "--size", "64M", "--seconds", "5");
        assertEquals(2, sized.rounds);
        assertEquals(64L << 20, sized.size);
        assertEquals(5, sized.seconds);
        BenchIoCommand.validate(1, 1L << 20, 1);
        assertThrows(UsageException.class, () -> BenchIoCommand.validate(0, 1L << 20, 1));
        assertThrows(UsageException.class, () -> BenchIoCommand.validate(1, (1L << 20) + 4096, 1));
        assertThrows(UsageException.class, () -> BenchIoCommand.validate(1, 8L << 30, 1));
        assertThrows(UsageException.class, () -> BenchIoCommand.validate(1, 1L << 20, 0));
    }

    @Test
    void qemu_gets_the_image_on_virtio_blk_and_the_command_in_base64() {
        BenchIoCommand bench = withImages();
        List<String> qemu = bench.qemu(Path.of("/t/disk.img"), "true");
        assertTrue(qemu.contains("if=none,id=d0,file=/t/disk.img,format=raw,cache=writeback"), qemu.toString());
        assertTrue(qemu.contains("virtio-blk-device,drive=d0"), qemu.toString());
        assertTrue(qemu.stream().anyMatch(word -> word.endsWith(" panavisor.exec=dHJ1ZQ==")), qemu.toString());
    }

    @Test
    void panavisor_runs_with_this_places_jvm_options_outside_the_lab() {
        BenchIoCommand bench = withImages();
        List<String> panavisor = bench.panavisor(Path.of("/t/disk.img"), "true");
        // On a hardware-KVM host (this test's JVM is not inside the lab) the measured VMM is the user's: the JIT
        // as it is, not stopped at C1 as the lab's emulated CPU needs (Lab.JVM_OPTIONS).
        assumeFalse(dev.panavisor.lab.Lab.insideLab());
        assertEquals(JavaCommand.panavisor(false), panavisor.subList(0, panavisor.indexOf("run")));
        assertTrue(java.util.Collections.disjoint(panavisor, dev.panavisor.lab.Lab.JVM_OPTIONS), panavisor.toString());
        assertTrue(panavisor.contains("--disk=/t/disk.img"), panavisor.toString());
    }

    @Test
    void the_jvm_started_inside_the_lab_to_measure_there_gets_the_labs_options() {
        // Whatever the host is: that JVM runs on L1's emulated CPU (docs/lab.md).
        List<String> lab = withImages().labCommand(1, 64, 5);
        assertEquals(InLab.javaCommand(), lab.subList(0, lab.indexOf("bench")));
        assertTrue(lab.containsAll(dev.panavisor.lab.Lab.JVM_OPTIONS), lab.toString());
        assertTrue(lab.containsAll(List.of("--rounds=1", "--size=64M", "--seconds=5", "--bench-initrd=/w/initramfs")),
                lab.toString());
    }

    @Test
    void the_bench_initramfs_is_io_load_archive_then_the_base(@TempDir Path dir) throws IOException {
        Path base = Files.write(dir.resolve("base.cpio.gz"), new byte[] {0x1f, (byte) 0x8b, 8, 0});
        Path program = Files.write(dir.resolve("io-load"), "ELF".getBytes(StandardCharsets.US_ASCII));
        byte[] built = Files.readAllBytes(IoBenchFiles.benchInitramfs(base, program, dir));
        byte[] archive = IoBenchFiles.loadArchive("ELF".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0, archive.length % 4, "the next archive must start 4-aligned");
        String text = new String(archive, StandardCharsets.US_ASCII);
        assertTrue(text.startsWith("070701") && text.contains("bench/io-load\0") && text.contains("TRAILER!!!"));
        assertArrayEquals(archive, java.util.Arrays.copyOf(built, archive.length));
        assertArrayEquals(new byte[] {0x1f, (byte) 0x8b, 8, 0},
                java.util.Arrays.copyOfRange(built, archive.length, built.length));
        assertThrows(CommandFailedException.class,
                () -> IoBenchFiles.benchInitramfs(dir.resolve("missing"), program, dir));
    }

    /** A parsed {@code bench io} with a kernel and a bench initramfs, as its inner run in the lab gets them. */
    private static BenchIoCommand withImages() {
        BenchIoCommand bench = parse();
        bench.kernel = Path.of("/k/bzImage");
        bench.benchInitrd = Path.of("/w/initramfs");
        return bench;
    }

    private static BenchIoCommand parse(String... args) {
        String[] full = new String[args.length + 2];
        full[0] = "bench";
        full[1] = "io";
        System.arraycopy(args, 0, full, 2, args.length);
        CommandLine.ParseResult parsed = PanavisorCommand.newCommandLine().parseArgs(full);
        return (BenchIoCommand) parsed.subcommand().subcommand().commandSpec().userObject();
    }
}
