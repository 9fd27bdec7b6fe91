package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panavisor.compare.Peer;
import dev.panavisor.kvm.KvmBacking;
import dev.panavisor.kvm.KvmHost;
import dev.panavisor.lab.LabAvailability;
import dev.panavisor.lab.LinuxGuests;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code bench compare}'s checks before it installs, builds or measures anything, and what a failed run leaves:
 * one line and exit status 1, never an internal error; the last results.json as it was. Where Linux guests run
 * and what gets installed are stand-ins, so nothing here installs, builds or boots.
 */
class BenchComparePreconditionsTest {
    @TempDir
    Path dir;

    private final List<List<Peer>> installs = new ArrayList<>();
    private final List<String> located = new ArrayList<>();

    record Result(int code, String out, String err) {
    }

    private static final KvmHost PVM = new KvmHost(Path.of("/dev/kvm"), true, true, KvmBacking.PVM);
    private static final KvmHost AMD = new KvmHost(Path.of("/dev/kvm"), true, true, KvmBacking.AMD_SVM);

    private static LinuxGuests nowhere() {
        return LinuxGuests.decide(PVM, () -> new LabAvailability(false, "needs qemu-system-x86"));
    }

    private static LinuxGuests direct() {
        return LinuxGuests.decide(AMD, () -> null);
    }

    private Result run(Supplier<LinuxGuests> guests, String... args) {
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        BenchCompareCommand compare = (BenchCompareCommand) commandLine.getSubcommands().get("bench")
                .getSubcommands().get("compare").getCommand();
        compare.guests = () -> {
            located.add("located");
            return guests.get();
        };
        compare.installer = (peers, progress) -> {
            installs.add(peers);
            return List.of();
        };
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out));
        commandLine.setErr(new PrintWriter(err));
        int code = commandLine.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /** The hidden options the outer run gives the run inside the lab: no image build, no gcc. */
    private List<String> given() throws IOException {
        Path junk = Files.writeString(dir.resolve("not-an-image"), "not an ext4 image\n");
        return List.of("--kernel=" + junk, "--initrd=" + junk, "--rootfs-image=" + junk, "--io-load=" + junk);
    }

    private Result compare(Supplier<LinuxGuests> guests, String out, String only) throws IOException {
        List<String> args = new ArrayList<>(List.of("bench", "compare", "--quick", "--out=" + out, "--only=" + only));
        args.addAll(given());
        return run(guests, args.toArray(String[]::new));
    }

    private static void assertOneLineError(Result result, String fragment) {
        assertOneLineError(result, 1, fragment);
    }

    private static void assertOneLineError(Result result, int code, String fragment) {
        assertEquals(code, result.code(), result.err());
        assertEquals(1, result.err().lines().count(), "exactly one line: " + result.err());
        assertTrue(result.err().startsWith("panavisor: "), result.err());
        assertTrue(result.err().contains(fragment), result.err());
        assertFalse(result.err().contains("internal error") || result.err().contains("Exception"), result.err());
    }

    @Test
    void an_out_that_is_a_file_is_refused_before_anything_else() throws IOException {
        Path file = Files.writeString(dir.resolve("hostname"), "keep me\n");
        assertOneLineError(compare(BenchComparePreconditionsTest::direct, file.toString(), "runc"), 2,
                "--out " + file + ": not a directory");
        assertEquals("keep me\n", Files.readString(file));
        assertEquals(List.of(), located, "refused before anything else");
        assertEquals(List.of(), installs);
    }

    @Test
    void an_out_under_a_file_is_refused() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertOneLineError(compare(BenchComparePreconditionsTest::direct, file.resolve("sub").toString(), "runc"),
                "cannot make the directory");
        assertEquals(List.of(), installs);
    }

    @Test
    void an_out_that_cannot_be_written_is_refused_before_the_measurement() throws IOException {
        Path sys = Path.of("/sys"); // a directory nobody can make a file in, root included
        assumeTrue(Files.isDirectory(sys));
        assertOneLineError(compare(BenchComparePreconditionsTest::direct, sys.toString(), "runc"),
                "--out /sys: cannot write there");
        assertEquals(List.of(), installs);
    }

    @Test
    void an_empty_out_is_a_usage_error() throws IOException {
        Result result = compare(BenchComparePreconditionsTest::direct, "", "runc");
        assertEquals(2, result.code(), result.err());
        assertTrue(result.err().contains("--out needs a directory"), result.err());
    }

    @Test
    void nothing_is_installed_where_linux_guests_cannot_run() throws IOException {
        Result result = compare(BenchComparePreconditionsTest::nowhere, dir.resolve("out").toString(), "qemu,runc");
        assertOneLineError(result, "Linux guests cannot run on this host");
        assertEquals(List.of(), installs, "apt-get is not run for a comparison that cannot happen");
    }

    @Test
    void a_failed_run_says_why_in_one_line_and_keeps_the_last_results() throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        Path json = Files.writeString(out.resolve("results.json"), "{\"the last run\": true}\n");
        // The host floor alone, directly: the first step, extracting the containers' root, fails on the junk image.
        Result result = compare(BenchComparePreconditionsTest::direct, out.toString(), "host");
        assertOneLineError(result, "cannot extract the guest's root file system from ");
        assertEquals("{\"the last run\": true}\n", Files.readString(json), "the last results are kept");
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(json), files.toList(), "nothing else left in --out");
        }
        assertEquals(1, installs.size());
    }
}
