package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.host.DebianPackages;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerInstallerTest {
    private static final LinkedHashSet<String> MISSING = new LinkedHashSet<>(List.of("runc", "crun"));

    @Test
    void with_panavisor_no_install_each_missing_peer_gets_a_note_and_nothing_is_installed() {
        List<String> progress = new ArrayList<>();
        List<String> notes = PeerInstaller.install(MISSING, new DebianPackages(progress::add, true, true));
        assertEquals(List.of("package runc is missing and was not installed: PANAVISOR_NO_INSTALL=1",
                "package crun is missing and was not installed: PANAVISOR_NO_INSTALL=1"), notes);
        assertEquals(List.of(), progress, "nothing announced, nothing run");
    }

    @Test
    void without_root_the_note_says_how_to_install_it() {
        List<String> notes = PeerInstaller.install(MISSING, new DebianPackages(line -> { }, false, false));
        assertEquals(List.of("package runc is missing and was not installed: not running as root (install it with "
                + "apt-get)", "package crun is missing and was not installed: not running as root (install it with "
                + "apt-get)"), notes);
    }
}
