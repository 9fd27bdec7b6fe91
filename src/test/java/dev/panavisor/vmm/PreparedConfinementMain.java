package dev.panavisor.vmm;

import dev.panavisor.sys.Seccomp;

/**
 * A child JVM for {@link PreparedConfinementTest}: prepares the VMM's filter as an unconfined run does, prints
 * {@link #PREPARED}, then installs it as a confined run does and prints the seccomp mode.
 */
public final class PreparedConfinementMain {
    static final String PREPARED = "confinement prepared";

    private PreparedConfinementMain() {
    }

    public static void main(String[] args) {
        Confinement.prepare(false);
        System.out.println(PREPARED);
        System.out.flush();
        Confinement.install(false);
        System.out.println("seccomp-mode " + Seccomp.mode());
    }
}
