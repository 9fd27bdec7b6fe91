package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.boot.SyntheticKernels;
import dev.panavisor.vmm.MachineConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A corpus of bad input to {@code panavisor run}, each with the one line and exit status it must give: malformed
 * kernels, initrds and disk images, and bad argument sets. Every case fails on the host before any KVM access
 * (checks in parsing and {@code MachineConfig.checkFiles}), so these run anywhere. Each must print exactly one line,
 * starting "panavisor: ", with no stack trace, and exit 1 (Panavisor could not start) or 2 (bad usage). The table
 * is what docs/security.md lists.
 */
class RunBadInputCorpusTest {
    @TempDir
    static Path dir;

    /** One case: arguments after "run" ({@code K} stands for a good kernel), exit status, a fragment of the line. */
    record Case(String name, int code, String fragment, String... args) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    static Path file(String name, ByteBuffer contents) throws IOException {
        byte[] bytes = new byte[contents.remaining()];
        contents.duplicate().get(bytes);
        return file(name, bytes);
    }

    static String bzImage(String name, java.util.function.Consumer<SyntheticKernels.BzImage> change) throws IOException {
        SyntheticKernels.BzImage image = new SyntheticKernels.BzImage();
        change.accept(image);
        return file(name, image.build()).toString();
    }

    static String elf(String name, java.util.function.Consumer<SyntheticKernels.Elf> change) throws IOException {
        SyntheticKernels.Elf elf = new SyntheticKernels.Elf();
        change.accept(elf);
        return file(name, elf.build()).toString();
    }

    static Path namedPipe(String name) throws IOException {
        try {
            return dev.panavisor.testing.NamedPipes.make(dir.resolve(name));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    static byte[] setupSects255() {
        SyntheticKernels.BzImage image = new SyntheticKernels.BzImage();
        image.setupSects = 255;
        return image.build().array();
    }

    static Stream<Case> corpus() throws IOException {
        String k = bzImage("good", image -> { });
        file("initrd.cpio", SyntheticKernels.pattern(4096, 2));
        Path empty = file("empty", new byte[0]);
        Path directory = Files.createDirectories(dir.resolve("a-directory"));
        byte[] random = new byte[8192];
        new java.util.Random(1).nextBytes(random);
        ByteBuffer wrongMagic = new SyntheticKernels.BzImage().build().order(ByteOrder.LITTLE_ENDIAN);
        wrongMagic.putInt(0x202, 0x53726448 ^ 0x20); // "HdRS"
        byte[] elf32 = SyntheticKernels.pattern(64, 0);
        System.arraycopy(new byte[] {0x7f, 'E', 'L', 'F', 1, 1, 1}, 0, elf32, 0, 7);
        byte[] goodElf = SyntheticKernels.pattern(4096, 1);
        String disk = file("disk.img", new byte[4096]).toString();
        String fifo = namedPipe("pipe").toString(); // its open would wait for a writer: refused before it
        return Stream.of(
                // Kernels.
                new Case("kernel: random bytes", 1, "not a Linux kernel", "--kernel", file("random", random).toString()),
                new Case("kernel: empty file", 1, "not a Linux kernel", "--kernel", empty.toString()),
                new Case("kernel: a directory", 1, "is a directory", "--kernel", directory.toString()),
                new Case("kernel: /dev/null", 1, "kernel /dev/null is not a regular file", "--kernel", "/dev/null"),
                new Case("kernel: a named pipe", 1, "is not a regular file", "--kernel", fifo),
                new Case("kernel: bzImage magic damaged", 1, "not a Linux kernel",
                        "--kernel", file("wrong-magic", wrongMagic).toString()),
                new Case("kernel: bzImage cut inside its setup sectors", 1, "truncated bzImage",
                        "--kernel", file("cut", Arrays.copyOf(new SyntheticKernels.BzImage().build().array(), 1024)).toString()),
                new Case("kernel: bzImage claiming 255 setup sectors, file ends inside them", 1, "truncated bzImage",
                        "--kernel", file("setup-sects", Arrays.copyOf(setupSects255(), 64 * 1024)).toString()),
                new Case("kernel: bzImage whose syssize runs past the file", 1, "truncated bzImage",
                        "--kernel", bzImage("syssize", image -> image.syssizeExtra = 1 << 20)),
                new Case("kernel: bzImage boot protocol 2.02", 1, "boot protocol 2.2",
                        "--kernel", bzImage("old", image -> image.version = 0x0202)),
                new Case("kernel: bzImage init_size of 4 GiB", 1, "does not fit in guest memory",
                        "--kernel", bzImage("init-size", image -> image.initSize = 0xffff_ffffL)),
                new Case("kernel: bzImage kernel_alignment 3", 1, "bad kernel_alignment 0x3",
                        "--kernel", bzImage("alignment", image -> image.kernelAlignment = 3)),
                new Case("kernel: 32-bit ELF", 1, "not 64-bit", "--kernel", file("elf32", elf32).toString()),
                new Case("kernel: ELF for another machine", 1, "not x86-64",
                        "--kernel", elf("arm", elf -> elf.machine = 183)),
                new Case("kernel: ELF segment of 2^60 bytes", 1, "is not a physical address range",
                        "--kernel", elf("huge", elf -> elf.segment(0x100_0000, 0x100_0000, goodElf, 1L << 60))),
                new Case("kernel: ELF segments that overlap", 1, "overlap in physical memory",
                        "--kernel", elf("overlap", elf -> elf.segment(0x100_0000, 0x100_0000, goodElf, 0x2000)
                                .segment(0x100_1000, 0x100_1000, goodElf, 0x1000))),
                new Case("kernel: ELF segment in the low megabyte", 1, "low megabyte",
                        "--kernel", elf("low", elf -> elf.segment(0x8000, 0x8000, goodElf, 0x1000))),
                new Case("kernel: ELF entry outside its segments", 1, "lies in none of its PT_LOAD segments",
                        "--kernel", elf("entry", elf -> {
                            elf.entry = 0x900_0000;
                            elf.segment(0x100_0000, 0x100_0000, goodElf, 0x1000);
                        })),
                // Initrds.
                new Case("initrd: empty", 1, "/empty is empty", "--kernel", k, "--initrd", empty.toString()),
                new Case("initrd: a directory", 1, "is not a regular file", "--kernel", k, "--initrd", directory.toString()),
                new Case("initrd: /dev/null", 1, "is not a regular file", "--kernel", k, "--initrd", "/dev/null"),
                new Case("initrd: missing", 1, "does not exist", "--kernel", k, "--initrd", dir.resolve("no").toString()),
                // Disk images.
                new Case("disk: empty", 1, "smaller than one 512-byte sector", "--kernel", k, "--disk", empty.toString()),
                new Case("disk: a directory", 1, "is a directory", "--kernel", k, "--disk", directory.toString()),
                new Case("disk: /dev/null", 1, "is not a regular file", "--kernel", k, "--disk", "/dev/null"),
                new Case("disk: /dev/null read-only", 1, "is not a regular file", "--kernel", k, "--disk", "/dev/null,ro"),
                new Case("disk: a named pipe read-only", 1, "is not a regular file", "--kernel", k, "--disk",
                        fifo + ",ro"),
                // Arguments.
                new Case("args: --memory 0", 2, "must be a positive multiple of 4 KiB, got '0'", "--kernel", k,
                        "--memory", "0"),
                new Case("args: --memory 4097K", 2, "must be a positive multiple of 4 KiB, got '4097K'", "--kernel", k,
                        "--memory", "4097K"),
                new Case("args: --memory beyond the MMIO hole", 1, "below the MMIO hole", "--kernel", k, "--memory", "8G"),
                new Case("args: --memory huge", 2, "is too large", "--kernel", k, "--memory", "99999999999G"),
                new Case("args: --cpus 33", 2, "'--cpus': must be between 1 and 32, got 33", "--kernel", k, "--cpus", "33"),
                new Case("args: --cpus 0", 2, "'--cpus': must be between 1 and 32, got 0", "--kernel", k, "--cpus", "0"),
                new Case("args: --cpus not a number", 2, "'many' is not a whole number", "--kernel", k, "--cpus", "many"),
                new Case("args: one disk image twice", 1, "is already open in this VMM (given twice?)", "--kernel", k,
                        "--disk", disk, "--disk", disk),
                new Case("args: --vsock CID negative", 2, "between 3 and 4294967294 (0-2 are reserved), got -3",
                        "--kernel", k, "--vsock", "-3,vm.sock"),
                new Case("args: --vsock CID of 11 digits", 2, "got 99999999999", "--kernel", k, "--vsock",
                        "99999999999,vm.sock"),
                new Case("args: --stall-limit beyond a year", 2, "'9999999999999999h' is longer than 365 days",
                        "--kernel", k, "--stall-limit", "9999999999999999h"),
                new Case("args: --console unknown", 2, "Invalid value for option '--console'", "--kernel", k,
                        "--console", "vga"),
                new Case("args: --disk option unknown", 2, "unknown disk option 'rx'", "--kernel", k, "--disk", "d,rx"),
                new Case("args: --stall-limit unparsable", 2, "--stall-limit", "--kernel", k, "--stall-limit", "soon"),
                new Case("args: --cmdline longer than the kernel takes", 1, "kernel command line is", "--kernel", k,
                        "--cmdline", "x".repeat(3000)),
                new Case("args: --cmdline with a NUL", 1, "contains a NUL character", "--kernel", k,
                        "--cmdline", "a\0b"),
                new Case("args: --cmdline over two lines", 1, "contains a control character (0x0a", "--kernel", k,
                        "--cmdline", "quiet\ninit=/bin/sh"),
                new Case("args: --vsock in a missing directory", 1,
                        "--vsock: the directory of /nonexistent-dir/vm.sock does not exist", "--kernel", k, "--vsock",
                        "3,/nonexistent-dir/vm.sock"),
                new Case("args: --vsock path is a regular file", 1, "exists and is not a socket", "--kernel", k,
                        "--vsock", "3," + disk),
                new Case("args: --vsock path longer than a socket address holds", 1,
                        "bytes long; a UNIX socket path holds at most 107", "--kernel", k, "--vsock",
                        "3," + dir.resolve("v".repeat(120))),
                new Case("args: --vsock CID below 3", 2, "the guest CID must be between 3 and 4294967294", "--kernel",
                        k, "--vsock", "2,vm.sock"),
                new Case("args: a stray argument", 2, "Unmatched argument", "--kernel", k, "extra"),
                new Case("args: an option without its value", 2, "Missing required parameter", "--kernel"));
    }

    /**
     * A guard, so that a case that is not bad after all never starts a VM or the nested lab: the arguments must
     * fail to parse, or fail {@code MachineConfig} or its {@code checkFiles}, before {@code run} is executed.
     */
    static void requireRefusedOnTheHost(String[] args) {
        RunCommand run;
        try {
            run = (RunCommand) PanavisorCommand.newCommandLine().parseArgs(args).subcommand().commandSpec().userObject();
        } catch (picocli.CommandLine.ParameterException e) {
            return;
        }
        try {
            MachineConfig.checkFiles(new MachineConfig(run.kernel, java.util.Optional.ofNullable(run.initrd), run.disks,
                    run.cmdline, run.memory, run.cpus, run.console, java.util.Optional.ofNullable(run.exec))
                    .withVsock(java.util.Optional.ofNullable(run.vsock)));
        } catch (dev.panavisor.PanavisorException e) {
            return;
        }
        throw new AssertionError("the host accepts this input; running it would start a VM: " + Arrays.toString(args));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void bad_input_gives_one_line_and_the_right_exit_status(Case bad) {
        // An initrd or a disk, always: without either, run would look up (and maybe build) the default guest.
        boolean hasRoot = Arrays.asList(bad.args()).contains("--initrd") || Arrays.asList(bad.args()).contains("--disk");
        String[] args = Stream.of(Stream.of("run"), Arrays.stream(bad.args()),
                hasRoot ? Stream.<String>empty() : Stream.of("--initrd", dir.resolve("initrd.cpio").toString()),
                Stream.of("--exec", "true")).flatMap(s -> s).toArray(String[]::new);
        if (bad.name().endsWith("without its value")) {
            args = new String[] {"run", "--kernel"};
        }
        requireRefusedOnTheHost(args);
        RunBadInputTest.Result result = RunBadInputTest.run(args);
        String err = result.err();
        assertEquals(bad.code(), result.code(), err);
        assertEquals(1, err.lines().count(), "exactly one line: " + err);
        assertTrue(err.startsWith("panavisor: "), err);
        assertTrue(err.contains(bad.fragment()), "expected \"" + bad.fragment() + "\" in: " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), err);
    }
}
