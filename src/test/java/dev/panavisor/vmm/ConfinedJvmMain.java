package dev.panavisor.vmm;

import static dev.panavisor.vmm.ChildSteps.step;

import dev.panavisor.sys.Seccomp;
import java.io.File;

/**
 * A child JVM for {@link ConfinedJvmTest}: confines itself with the VMM's filter, then takes the paths the JVM
 * itself takes lazily once a VM runs, printing {@code NAME ok} or {@code NAME failed: message} for each, and ends
 * with {@code System.exit(0)} as {@code panavisor run} does.
 */
public final class ConfinedJvmMain {
    private ConfinedJvmMain() {
    }

    public static void main(String[] args) {
        Confinement.install();
        System.out.println("seccomp-mode " + Seccomp.mode());
        // Loading a native library resolves its path component by component (readlink): the JDK loads
        // libjimage this way the first time Java code reads the run-time image, which with an AOT cache can be
        // as late as Runtime.exit's logging.
        step("canonical-path", () -> new File(System.getProperty("java.home"), "lib").getCanonicalPath());
        step("library-resource", () -> {
            if (Object.class.getResource("Object.class") == null) {
                throw new IllegalStateException("no resource");
            }
        });
        step("system-logger", () -> System.getLogger("java.lang.Runtime").isLoggable(System.Logger.Level.DEBUG));
        step("mbean-server", () -> java.lang.management.ManagementFactory.getPlatformMBeanServer());
        System.out.flush();
        System.exit(0);
    }
}
