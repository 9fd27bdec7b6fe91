package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.kvm.KvmBacking;
import dev.panavisor.kvm.KvmHost;
import dev.panavisor.kvm.abi.KvmCap;
import dev.panavisor.lab.LabAvailability;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.vmm.HostCheck;
import dev.panavisor.testing.Requires;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CheckCommandTest {
    record Result(int exitCode, String out, String err) {
    }

    static Result execute(String... args) {
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out));
        commandLine.setErr(new PrintWriter(err));
        int code = commandLine.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /** {@code check} on this host's facts, but with the lab's availability given (the test host's is not asserted). */
    static Result executeWithLab(LabAvailability lab, String... args) {
        CheckCommand check = new CheckCommand();
        check.lab = () -> lab;
        CommandLine commandLine = new CommandLine(check);
        StringWriter out = new StringWriter();
        commandLine.setOut(new PrintWriter(out));
        commandLine.setErr(new PrintWriter(new StringWriter()));
        return new Result(commandLine.execute(args), out.toString(), "");
    }

    private static final LabAvailability LAB = new LabAvailability(true, "QEMU and busybox-static installed");
    private static final LabAvailability NO_LAB = new LabAvailability(false, "needs the Debian package(s) qemu-system-x86");

    @Test
    void without_dev_kvm_check_says_linux_runs_in_the_lab_and_exits_0() {
        Result result = executeWithLab(LAB, "--device", "/nonexistent/kvm");
        assertEquals(0, result.exitCode(), result.out());
        assertTrue(result.out().contains("device:       /nonexistent/kvm (missing)"), result.out());
        assertTrue(result.out().contains("host:         this host has no /nonexistent/kvm"), result.out());
        assertTrue(result.out().contains("backing:      none (no KVM device)"), result.out());
        assertTrue(result.out().contains("linux guests: inside the nested lab (QEMU and busybox-static installed)"),
                result.out());
        assertTrue(result.out().contains("verdict:      no /nonexistent/kvm here, so Panavisor runs Linux guests inside "
                + "the nested lab: an emulated PC with its own hardware-style KVM"), result.out());
        assertFalse(result.out().contains("cannot run"), "no contradiction with the lab line: " + result.out());
        assertFalse(result.out().contains("error:"), result.out());
    }

    @Test
    void without_dev_kvm_and_without_the_lab_check_says_why_and_exits_1() {
        Result result = executeWithLab(NO_LAB, "--device", "/nonexistent/kvm");
        assertEquals(1, result.exitCode(), result.out());
        assertTrue(result.out().contains("linux guests: nowhere (the nested lab needs the Debian package(s) "
                + "qemu-system-x86)"), result.out());
        assertTrue(result.out().contains("verdict:      no /nonexistent/kvm here, and the nested lab needs the Debian "
                + "package(s) qemu-system-x86, so Panavisor cannot run Linux guests on this host."), result.out());
    }

    @Test
    void a_tiny_guests_only_kvm_is_named_and_linux_goes_to_the_lab() {
        KvmHost pvm = new KvmHost(Path.of("/dev/kvm"), true, true, KvmBacking.PVM);
        HostCheck.Report report = new HostCheck.Report(pvm, 12, Map.of(), null, null);
        String verdict = CheckCommand.verdict(report, LinuxGuests.decide(pvm, () -> LAB));
        assertTrue(verdict.startsWith("this /dev/kvm (kvm_pvm) runs tiny guests only, so Panavisor runs Linux guests "
                + "inside the nested lab"), verdict);
        String alone = CheckCommand.verdict(report, LinuxGuests.decide(pvm, () -> NO_LAB));
        assertTrue(alone.endsWith("cannot run Linux guests on this host (tiny guests do run)."), alone);
        assertTrue(CheckCommand.canRunGuests(report, LinuxGuests.decide(pvm, () -> NO_LAB)));
    }

    @Test
    void hardware_kvm_boots_linux_directly() {
        KvmHost amd = new KvmHost(Path.of("/dev/kvm"), true, true, KvmBacking.AMD_SVM);
        Map<KvmCap, Integer> all = new EnumMap<>(KvmCap.class);
        for (KvmCap cap : KvmCap.values()) {
            all.put(cap, 1);
        }
        HostCheck.Report report = new HostCheck.Report(amd, 12, all, null, null);
        assertEquals("hardware virtualization: Linux guests boot here directly.",
                CheckCommand.verdict(report, LinuxGuests.decide(amd, () -> NO_LAB)));
        assertTrue(CheckCommand.canRunGuests(report, LinuxGuests.decide(report.bootsLinux(), amd, () -> NO_LAB)));
        // Hardware whose tiny guests fail is not trusted with Linux: the lab, or nowhere (exit 1).
        HostCheck.Report broken = new HostCheck.Report(amd, 12, all, "real-mode guest wrote 3, expected 2", null);
        LinuxGuests alone = LinuxGuests.decide(broken.bootsLinux(), amd, () -> NO_LAB);
        assertEquals(LinuxGuests.Route.NONE, alone.route());
        assertEquals("KVM here fails to run guest code (real-mode guest wrote 3, expected 2), and the nested lab needs "
                + "the Debian package(s) qemu-system-x86, so Panavisor cannot run Linux guests on this host.",
                CheckCommand.verdict(broken, alone));
        assertFalse(CheckCommand.canRunGuests(broken, alone));
        LinuxGuests lab = LinuxGuests.decide(broken.bootsLinux(), amd, () -> LAB);
        assertEquals(LinuxGuests.Route.LAB, lab.route());
        assertTrue(CheckCommand.verdict(broken, lab).startsWith("KVM here fails to run guest code (real-mode guest "
                + "wrote 3, expected 2), so Panavisor runs Linux guests inside the nested lab"));
    }

    @Test
    void a_device_this_user_cannot_open_says_how_to_get_access() {
        KvmHost locked = new KvmHost(Path.of("/dev/kvm"), true, false, KvmBacking.INTEL_VMX);
        assertEquals("/dev/kvm exists but this user cannot open it read-write (join its group, e.g. kvm, or run as root)",
                locked.situation());
        HostCheck.Report report = new HostCheck.Report(locked, -1, Map.of(), null, "/dev/kvm: Permission denied");
        String verdict = CheckCommand.verdict(report, LinuxGuests.decide(locked, () -> LAB));
        assertTrue(verdict.startsWith("this user cannot open /dev/kvm, so Panavisor runs Linux guests inside the nested "
                + "lab"), verdict);
    }

    @Test
    void unknown_options_are_a_usage_error_without_stack_trace() {
        Result result = execute("check", "--bogus");
        assertEquals(2, result.exitCode());
        assertTrue(result.err().startsWith("panavisor: Unknown option: '--bogus'"), result.err());
        assertTrue(!result.err().contains("Exception"), result.err());
    }

    @Test
    void a_device_that_is_not_a_character_device_is_a_usage_error(@org.junit.jupiter.api.io.TempDir Path dir)
            throws java.io.IOException {
        Path file = java.nio.file.Files.writeString(dir.resolve("file"), "x");
        for (String device : new String[] {file.toString(), dir.toString(), "/dev/null"}) {
            Result result = execute("check", "--device", device);
            if (device.equals("/dev/null")) { // a character device: checked, and found not to be KVM's
                assertTrue(result.exitCode() == 0 || result.exitCode() == 1, result.err()); // 0: the lab stands in
                assertTrue(result.out().contains("error:        /dev/null is not a KVM device"), result.out());
                assertFalse(result.err().contains("internal error"), result.err());
                continue;
            }
            assertEquals(2, result.exitCode(), result.err());
            assertEquals("panavisor: " + device + " is not a character device (KVM's device is /dev/kvm) (see "
                    + "'panavisor check --help')", result.err().strip());
            assertEquals("", result.out());
        }
        Result empty = execute("check", "--device", "");
        assertEquals(2, empty.exitCode(), empty.err());
        assertTrue(empty.err().startsWith("panavisor: --device needs a path"), empty.err());
    }

    @Test
    @Tag("kvm")
    void on_this_host_it_runs_the_tiny_guests_and_names_the_backing() {
        Requires.kvm();
        Result result = execute("check");
        assertEquals(0, result.exitCode(), result.out());
        assertTrue(result.out().contains("api version:  12"), result.out());
        assertTrue(result.out().contains("tiny guests:  ok"), result.out());
        KvmHost host = KvmHost.probe();
        assertTrue(result.out().contains("backing:      " + host.backing().description()), result.out());
        assertTrue(result.out().contains("host:         " + host.situation()), result.out());
        if (host.bootsLinux()) {
            assertTrue(result.out().contains("verdict:      hardware virtualization"), result.out());
        } else {
            assertTrue(result.out().contains("Linux"), result.out());
            assertTrue(result.out().contains("nested lab"), result.out());
        }
    }
}
