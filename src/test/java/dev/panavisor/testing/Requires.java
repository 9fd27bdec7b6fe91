package dev.panavisor.testing;

import dev.panavisor.kvm.KvmHost;
import dev.panavisor.lab.LabAvailability;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Preconditions for tests that need something from the machine. Where it is missing the test is skipped with the
 * reason shown, except when the matching PANAVISOR_REQUIRE_* variable is set (CI sets them): then it fails,
 * so a CI machine that lost /dev/kvm cannot pass by skipping.
 */
public final class Requires {
    private Requires() {
    }

    /** A usable /dev/kvm of any backing (tag such tests "kvm"). */
    public static void kvm() {
        KvmHost host = KvmHost.probe();
        if (!host.exists()) {
            missing("PANAVISOR_REQUIRE_KVM", "/dev/kvm does not exist");
        } else if (!host.accessible()) {
            missing("PANAVISOR_REQUIRE_KVM", "/dev/kvm is not readable and writable by this user");
        }
    }

    /**
     * The nested lab (tag such tests "lab"): QEMU and busybox-static installed or installable (root with apt), and
     * Debian's kernel cached or downloadable. PANAVISOR_REQUIRE_LAB=1 turns a skip into a failure.
     */
    public static void lab() {
        LabAvailability lab = LabAvailability.probe();
        if (!lab.available()) {
            missing("PANAVISOR_REQUIRE_LAB", "the nested lab is not available: " + lab.detail());
        }
    }

    /** Skips (or fails, when {@code requireVariable} is set to 1) with {@code reason}. */
    public static void missing(String requireVariable, String reason) {
        if ("1".equals(System.getenv(requireVariable))) {
            Assertions.fail(reason + " (and " + requireVariable + "=1 requires it)");
        }
        Assumptions.abort(reason);
    }
}
