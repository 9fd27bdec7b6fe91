package dev.panavisor.testing;

import dev.panavisor.PanavisorException;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.KvmHost;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabAvailability;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Preconditions for tests that need something from the machine. Where it is missing the test is skipped with the
 * reason shown, except when the matching PANAVISOR_REQUIRE_* variable is set (tools/test and CI set them): then
 * it fails, so a machine that lost /dev/kvm and the lab cannot pass by skipping.
 */
public final class Requires {
    private Requires() {
    }

    /**
     * A usable /dev/kvm of any backing (tag such tests "kvm"). On a host where /dev/kvm is missing or cannot be
     * opened, the kvm-tagged tests are not lost: {@code KvmTestsInLabTest} runs every one of them inside the nested
     * lab, so here they step aside with that reason. Where the lab is not available either, they fail under
     * PANAVISOR_REQUIRE_KVM=1 (the kvm tests would run nowhere) and are skipped otherwise.
     */
    public static void kvm() {
        KvmHost host = KvmHost.probe();
        String openError = openError();
        if (openError == null) {
            return;
        }
        if (!Lab.insideLab()) {
            LabAvailability lab = LabAvailability.probe();
            if (lab.available()) {
                // tools/test counts skips with this exact text ("runs inside the nested lab instead").
                Assumptions.abort(openError + ": this test runs inside the nested lab instead ("
                        + KVM_TESTS_IN_LAB + ")");
            }
            missing("PANAVISOR_REQUIRE_KVM", openError + ", and the nested lab that would run the kvm tests "
                    + "instead is not available: " + lab.detail());
        }
        missing("PANAVISOR_REQUIRE_KVM", "inside the nested lab, yet " + openError + " (" + host.situation() + ")");
    }

    /** Null when this process can open /dev/kvm (mode bits are not enough: cgroups or a stale node may refuse). */
    private static String openError() {
        try (Kvm kvm = Kvm.open()) {
            return null;
        } catch (PanavisorException e) {
            return e.getMessage();
        }
    }

    /** The test class that runs the kvm-tagged tests inside the nested lab. */
    public static final String KVM_TESTS_IN_LAB = "dev.panavisor.lab.KvmTestsInLabTest";

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

    /**
     * passt, the user-mode network stack behind {@code run --net user} (Debian package passt; .ci/run installs it).
     * Missing, it fails under PANAVISOR_REQUIRE_LAB=1, as the network lab scenarios need it too.
     */
    public static void passt() {
        if (!onPath("passt")) {
            missing("PANAVISOR_REQUIRE_LAB", "passt is not installed (apt-get install passt)");
        }
    }

    /**
     * e2fsprogs (mke2fs, debugfs, e2fsck), with which {@code image build} makes ext4 images (.ci/run installs it).
     * Missing, it fails under PANAVISOR_REQUIRE_LAB=1, as the guest images the lab tests boot need it too.
     */
    public static void e2fsprogs() {
        for (String tool : new String[] {"mke2fs", "debugfs", "e2fsck"}) {
            if (dev.panavisor.host.HostCommand.find(tool).isEmpty()) { // as the image build looks: PATH, then sbin
                missing("PANAVISOR_REQUIRE_LAB", tool + " is not installed (Debian package e2fsprogs)");
            }
        }
    }

    /** Whether {@code tool} is an executable in this process's PATH. */
    private static boolean onPath(String tool) {
        return java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(dir -> !dir.isEmpty() && java.nio.file.Files.isExecutable(java.nio.file.Path.of(dir, tool)));
    }

    /** Skips (or fails, when {@code requireVariable} is set to 1) with {@code reason}. */
    public static void missing(String requireVariable, String reason) {
        if ("1".equals(System.getenv(requireVariable))) {
            Assertions.fail(reason + " (and " + requireVariable + "=1 requires it)");
        }
        Assumptions.abort(reason);
    }
}
