package dev.panavisor.vmm;

import dev.panavisor.PanavisorException;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.KvmHost;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.kvm.abi.KvmCap;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code panavisor check} finds out about a host: whether /dev/kvm is there and usable, its API version and
 * capabilities, what backs it, and whether it really runs guest code (the two tiny guests). Pure data plus the
 * probing; the CLI only prints it.
 */
public final class HostCheck {
    private HostCheck() {
    }

    /**
     * @param host          presence, access and backing of the device
     * @param apiVersion    KVM_GET_API_VERSION, or -1 when the device could not be opened
     * @param capabilities  each capability Panavisor asks about -> KVM_CHECK_EXTENSION result (0 = absent)
     * @param tinyGuests    null when they ran correctly, else what went wrong
     * @param openError     null when the device opened, else why not
     */
    public record Report(KvmHost host, int apiVersion, Map<KvmCap, Integer> capabilities, String tinyGuests,
            String openError) {
        /** KVM can be opened and runs guest code. */
        public boolean usable() {
            return openError == null && tinyGuests == null;
        }

        /** Every capability Panavisor requires for a Linux guest is present. */
        public boolean hasRequiredCapabilities() {
            return capabilities.entrySet().stream().allMatch(e -> !e.getKey().required() || e.getValue() > 0);
        }

        /** Linux guests can boot directly on this KVM. */
        public boolean bootsLinux() {
            return usable() && hasRequiredCapabilities() && host.bootsLinux();
        }
    }

    public static Report run() {
        return run(KvmHost.probe());
    }

    public static Report run(Path device) {
        return run(KvmHost.probe(device, Path.of("/sys/module")));
    }

    static Report run(KvmHost host) {
        Map<KvmCap, Integer> capabilities = new LinkedHashMap<>();
        try (Kvm kvm = Kvm.open(host.device())) {
            for (KvmCap cap : KvmCap.values()) {
                capabilities.put(cap, kvm.checkExtension(cap));
            }
            return new Report(host, kvm.apiVersion(), capabilities, runTinyGuests(kvm), null);
        } catch (PanavisorException e) {
            return new Report(host, -1, capabilities, null, e.getMessage());
        }
    }

    /** Runs both tiny guests and checks their output; returns null when all is as expected. */
    static String runTinyGuests(Kvm kvm) {
        try (TinyGuest guest = TinyGuest.realMode(kvm, TinyPrograms.powersOfTwo())) {
            int expected = 1;
            VcpuExit exit;
            while ((exit = guest.run()) instanceof VcpuExit.IoOut out) {
                if (out.value() != expected) {
                    return "real-mode guest wrote " + out.value() + ", expected " + expected;
                }
                expected <<= 1;
            }
            if (!(exit instanceof VcpuExit.Hlt) || expected != 0x100) {
                return "real-mode guest ended with " + exit + " after writing up to " + (expected >> 1);
            }
        } catch (PanavisorException e) {
            return "real-mode guest failed: " + e.getMessage();
        }
        try (TinyGuest guest = TinyGuest.longMode(kvm, TinyPrograms.sumAndEcho())) {
            if (!(guest.run() instanceof VcpuExit.IoOut sum) || sum.value() != 5050) {
                return "long-mode guest did not report 5050 over port I/O";
            }
            if (!(guest.run() instanceof VcpuExit.MmioRead read)) {
                return "long-mode guest did not read MMIO";
            }
            long token = 0x5041_4e41_5649_534fL;
            read.reply(token);
            if (!(guest.run() instanceof VcpuExit.MmioWrite write) || write.value() != token) {
                return "long-mode guest did not echo the MMIO value";
            }
            VcpuExit last = guest.run();
            if (!(last instanceof VcpuExit.Hlt)) {
                return "long-mode guest ended with " + last;
            }
        } catch (PanavisorException e) {
            return "long-mode guest failed: " + e.getMessage();
        }
        return null;
    }
}
