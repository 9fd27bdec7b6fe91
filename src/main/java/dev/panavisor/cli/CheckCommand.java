package dev.panavisor.cli;

import dev.panavisor.kvm.KvmBacking;
import dev.panavisor.kvm.KvmHost;
import dev.panavisor.kvm.abi.KvmCap;
import dev.panavisor.lab.LabAvailability;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.vmm.HostCheck;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panavisor check}: is /dev/kvm here, usable, and able to boot Linux? */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check /dev/kvm: presence, permissions, API version, capabilities and what backs it,",
                "and run two tiny guests to prove it executes guest code.",
                "Exit status: 0 when KVM runs guests here, 1 when it cannot be used."})
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--device", paramLabel = "PATH", description = "KVM device to check (default: ${DEFAULT-VALUE}).")
    Path device = KvmHost.DEFAULT_DEVICE;

    @Override
    public Integer call() {
        HostCheck.Report report = HostCheck.run(device);
        print(report, spec.commandLine().getOut());
        return report.usable() ? ExitCodes.OK : ExitCodes.ERROR;
    }

    static void print(HostCheck.Report report, PrintWriter out) {
        KvmHost host = report.host();
        out.printf("device:       %s (%s)%n", host.device(), !host.exists() ? "missing"
                : host.accessible() ? "present, read-write" : "present, NO read-write access");
        if (report.openError() != null) {
            out.printf("error:        %s%n", report.openError());
        } else {
            out.printf("api version:  %d%n", report.apiVersion());
            out.println("capabilities:");
            for (Map.Entry<KvmCap, Integer> cap : report.capabilities().entrySet()) {
                String state = cap.getValue() > 0 ? "yes" : cap.getKey().required() ? "MISSING" : "no";
                out.printf("  %-7s %-22s %s%n", state, cap.getKey(), cap.getKey().purpose());
            }
        }
        out.printf("backing:      %s%n", host.backing().description());
        if (report.openError() == null) {
            out.printf("tiny guests:  %s%n", report.tinyGuests() == null
                    ? "ok (real mode: 8 port writes; long mode: port write, MMIO read and write)"
                    : "FAILED: " + report.tinyGuests());
        }
        out.printf("linux guests: %s%n", LinuxGuests.decide(host, LabAvailability::probe).describe());
        out.printf("verdict:      %s%n", verdict(report));
        out.flush();
    }

    static String verdict(HostCheck.Report report) {
        if (report.bootsLinux()) {
            return "hardware virtualization: Linux guests boot here directly.";
        }
        if (!report.usable()) {
            return "KVM cannot be used here; Panavisor cannot run guests on this host.";
        }
        if (!report.hasRequiredCapabilities()) {
            return "KVM runs guest code but lacks capabilities Panavisor needs for Linux (see MISSING above).";
        }
        if (report.host().backing() == KvmBacking.PVM) {
            return "this KVM runs tiny guests only: it emulates guest kernel code in software, so Linux cannot "
                    + "boot on it. Linux guests need hardware virtualization (Intel VT-x or AMD-V: kvm_intel or "
                    + "kvm_amd), or the nested lab ('panavisor lab').";
        }
        return "KVM runs tiny guests, but what backs it is unknown, so Panavisor does not boot Linux on it "
                + "directly; use hardware virtualization (kvm_intel or kvm_amd) or the nested lab ('panavisor lab').";
    }
}
