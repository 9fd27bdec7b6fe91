package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Runs on Debian (dpkg-query), like the image build itself. */
class DebianPackagesTest {
    @Test
    void an_installed_package_has_a_version_and_a_missing_one_has_none() {
        DebianPackages packages = new DebianPackages(line -> { }, false);
        assertTrue(packages.installedVersion("dpkg").orElseThrow().matches("\\d.*"));
        assertEquals(Optional.empty(), packages.installedVersion("panavisor-no-such-package"));
    }

    @Test
    void without_root_a_missing_package_stops_the_build_with_the_command_to_run() {
        DebianPackages packages = new DebianPackages(line -> { }, false);
        ImageException e = assertThrows(ImageException.class,
                () -> packages.ensureInstalled(List.of("dpkg", "panavisor-no-such-package"), "the test"));
        assertEquals("the test needs the Debian packages panavisor-no-such-package; install them as root: "
                + "apt-get install -y panavisor-no-such-package", e.getMessage());
    }

    @Test
    void with_panavisor_no_install_even_root_stops_with_the_command_to_run_and_installs_nothing() {
        List<String> progress = new java.util.ArrayList<>();
        DebianPackages packages = new DebianPackages(progress::add, true, true);
        ImageException e = assertThrows(ImageException.class,
                () -> packages.ensureInstalled(List.of("dpkg", "panavisor-no-such-package"), "the test"));
        assertEquals("the test needs the Debian packages panavisor-no-such-package; PANAVISOR_NO_INSTALL=1 forbids "
                + "installing them: apt-get install -y panavisor-no-such-package", e.getMessage());
        assertEquals(List.of(), progress, "nothing announced, nothing run");
    }
}
