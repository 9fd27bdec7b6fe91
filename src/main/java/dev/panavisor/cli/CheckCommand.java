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
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panavisor check}: is /dev/kvm here, usable, and able to boot Linux, and if not, can the nested lab stand in?
 * It names which of the three kinds of host this is: no /dev/kvm at all, a /dev/kvm that only runs tiny guests
 * (kvm_pvm), or hardware virtualization.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check /dev/kvm and say where Linux guests run here.",
                "Checks its presence, permissions, API version, capabilities and what backs it, runs two tiny",
                "guests to prove it executes guest code, and says where Linux guests run: directly on /dev/kvm,",
                "or inside the nested lab when this host cannot boot them.",
                "Exit status: 0 when Panavisor can run guests here (on /dev/kvm or in the lab), 1 when not,",
                "2 for bad usage."})
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--device", paramLabel = "PATH", description = "KVM device to check (default: ${DEFAULT-VALUE}).")
    Path device = KvmHost.DEFAULT_DEVICE;

    /** Whether the nested lab can be had here (replaced in tests, so they do not depend on the test host). */
    Supplier<LabAvailability> lab = LabAvailability::probe;

    @Override
    public Integer call() {
        if (device.toString().isEmpty()) {
            throw new UsageException("--device needs a path (KVM's device is " + KvmHost.DEFAULT_DEVICE + ")");
        }
        if (KvmHost.node(device) == KvmHost.Node.NOT_CHARACTER_DEVICE) {
            throw new UsageException(device + " is not a character device (KVM's device is " + KvmHost.DEFAULT_DEVICE
                    + ")");
        }
        HostCheck.Report report = HostCheck.run(device);
        LinuxGuests where = LinuxGuests.decide(report.bootsLinux(), report.host(), lab);
        print(report, where, spec.commandLine().getOut());
        return canRunGuests(report, where) ? ExitCodes.OK : ExitCodes.ERROR;
    }

    /** Guests run here: tiny ones on this /dev/kvm (Linux ones too when it is hardware), or Linux ones in the lab. */
    static boolean canRunGuests(HostCheck.Report report, LinuxGuests where) {
        return report.usable() || where.route() == LinuxGuests.Route.LAB;
    }

    static void print(HostCheck.Report report, LinuxGuests where, PrintWriter out) {
        KvmHost host = report.host();
        out.printf("device:       %s (%s)%n", host.device(), !host.exists() ? "missing"
                : host.accessible() ? "present, read-write" : "present, NO read-write access");
        out.printf("host:         %s%n", host.situation());
        if (report.openError() != null) {
            if (host.exists()) {
                out.printf("error:        %s%n", report.openError());
            }
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
        out.printf("linux guests: %s%n", where.describe());
        out.printf("verdict:      %s%n", verdict(report, where));
        out.flush();
    }

    static String verdict(HostCheck.Report report, LinuxGuests where) {
        if (report.bootsLinux()) {
            return "hardware virtualization: Linux guests boot here directly.";
        }
        String why = whyNotDirect(report);
        return switch (where.route()) {
            case LAB -> why + ", so Panavisor runs Linux guests inside the nested lab: an emulated PC with its own "
                    + "hardware-style KVM, slow (tens of seconds per boot) but real (docs/lab.md).";
            case NONE -> why + ", and the nested lab " + where.lab().detail() + ", so Panavisor cannot run Linux "
                    + "guests on this host" + (report.usable() ? " (tiny guests do run)." : ".");
            case DIRECT -> throw new IllegalStateException("DIRECT is decided from report.bootsLinux()");
        };
    }

    /** Why Linux does not boot on this host's /dev/kvm, in a few words (the host: line has the long form). */
    private static String whyNotDirect(HostCheck.Report report) {
        KvmHost host = report.host();
        if (!host.exists()) {
            return "no " + host.device() + " here";
        }
        if (!host.accessible()) {
            return "this user cannot open " + host.device();
        }
        if (report.openError() != null) {
            return "KVM cannot be opened here (" + report.openError() + ")";
        }
        if (report.tinyGuests() != null) {
            return "KVM here fails to run guest code (" + report.tinyGuests() + ")";
        }
        if (!report.hasRequiredCapabilities()) {
            return "KVM here lacks capabilities Panavisor needs for Linux (see MISSING above)";
        }
        return switch (host.backing()) {
            case PVM -> "this /dev/kvm (kvm_pvm) runs tiny guests only";
            case UNKNOWN -> "what backs " + host.device() + " is unknown";
            default -> host.situation();
        };
    }
}
