package dev.panavisor.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Runs on Debian (dpkg-query), like the image build and the lab themselves. */
class DebianPackagesTest {
    @Test
    void an_installed_package_has_a_version_and_a_missing_one_has_none() {
        DebianPackages packages = new DebianPackages(line -> { }, false, false);
        assertTrue(packages.installedVersion("dpkg").orElseThrow().matches("\\d.*"));
        assertEquals(Optional.empty(), packages.installedVersion("panavisor-no-such-package"));
    }

    @Test
    void without_root_a_missing_package_stops_the_build_with_the_command_to_run() {
        List<String> progress = new ArrayList<>();
        DebianPackages packages = new DebianPackages(progress::add, false, false);
        HostException e = assertThrows(HostException.class,
                () -> packages.ensureInstalled(List.of("dpkg", "panavisor-no-such-package"), "the test"));
        assertEquals("the test needs the Debian packages panavisor-no-such-package; install them as root: "
                + "apt-get install -y panavisor-no-such-package", e.getMessage());
        assertEquals(List.of(), progress, "nothing announced, nothing run");
        assertEquals(Optional.of(DebianPackages.Refusal.NOT_ROOT), packages.refusal());
    }

    @Test
    void with_panavisor_no_install_even_root_stops_with_the_command_to_run_and_installs_nothing() {
        List<String> progress = new ArrayList<>();
        DebianPackages packages = new DebianPackages(progress::add, true, true);
        HostException e = assertThrows(HostException.class,
                () -> packages.ensureInstalled(List.of("dpkg", "panavisor-no-such-package"), "the test"));
        assertEquals("the test needs the Debian packages panavisor-no-such-package; PANAVISOR_NO_INSTALL=1 forbids "
                + "installing them: apt-get install -y panavisor-no-such-package", e.getMessage());
        assertEquals(List.of(), progress, "nothing announced, nothing run");
        // The same rule for callers that install by tool rather than by dpkg's list (the lab, the comparison).
        assertThrows(HostException.class, () -> packages.install(List.of("busybox-static"), "the test"));
        assertThrows(HostException.class, () -> packages.installWithRecommends(List.of("runc"), "the test"));
        assertEquals(List.of(), progress);
        assertEquals(Optional.of(DebianPackages.Refusal.NO_INSTALL), packages.refusal());
        assertEquals("PANAVISOR_NO_INSTALL=1", DebianPackages.Refusal.NO_INSTALL.note());
    }

    @Test
    void without_apt_the_message_says_there_is_nothing_to_install_with() {
        assertEquals("the Debian packages qemu-system-x86 busybox-static and this host has no apt-get to install them",
                DebianPackages.refusalMessage(DebianPackages.Refusal.NO_APT,
                        List.of("qemu-system-x86", "busybox-static")));
    }

    @Test
    void nothing_is_refreshed_without_root() {
        assertEquals(false, new DebianPackages(line -> { }, false, false).update(),
                "apt-get update needs root: a user's process must not try it");
    }

    @Test
    void the_kernel_is_the_linux_image_dependency_of_the_metapackage() {
        String depends = """
                linux-image-amd64
                  Depends: linux-image-6.1.0-57-amd64
                  Recommends: apparmor
                """;
        assertEquals(Optional.of("linux-image-6.1.0-57-amd64"), DebianPackages.kernelDependency(depends));
        assertEquals(Optional.empty(), DebianPackages.kernelDependency("linux-image-amd64\n  Recommends: x\n"));
    }

    @Test
    void the_candidate_version_comes_from_apt_cache_policy() {
        String policy = """
                linux-image-6.1.0-57-amd64-unsigned:
                  Installed: (none)
                  Candidate: 6.1.192-3
                  Version table:
                     6.1.192-3 500
                """;
        assertEquals(Optional.of("6.1.192-3"), DebianPackages.candidateVersion(policy));
        assertEquals(Optional.empty(), DebianPackages.candidateVersion("x:\n  Installed: (none)\n  Candidate: (none)\n"));
    }

    @Test
    void a_cache_key_is_a_safe_file_name() {
        assertEquals("qemu-system-x86_1_7.2_dfsg-7", new DebianPackages.Package("qemu-system-x86", "1:7.2+dfsg-7")
                .key().replace('+', '_'));
        assertEquals("linux-image-6.1.0-57-amd64-unsigned_6.1.192-3",
                new DebianPackages.Package("linux-image-6.1.0-57-amd64-unsigned", "6.1.192-3").key());
    }
}
