package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class DebianPackagesTest {
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
