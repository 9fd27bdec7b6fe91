package dev.panavisor.host;

/**
 * The one rule for installing host packages on first use (the image build's tools, the lab's QEMU and busybox,
 * the comparison's container runtimes): only with a line saying what is installed and why, and never when
 * {@value #NO_INSTALL_VARIABLE}=1 — then the command stops and names the packages to install.
 * {@link DebianPackages#install} is where the rule is applied.
 */
public final class PackageInstalls {
    public static final String NO_INSTALL_VARIABLE = "PANAVISOR_NO_INSTALL";

    private PackageInstalls() {
    }

    /** True when the environment forbids installing ({@value #NO_INSTALL_VARIABLE}=1). */
    public static boolean forbidden() {
        return "1".equals(System.getenv(NO_INSTALL_VARIABLE));
    }
}
