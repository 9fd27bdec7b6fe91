package dev.panavisor.vmm;

/**
 * The steps of a child JVM's main (ConfinedDiskMain, ConfinedJvmMain): each prints {@code NAME ok} or
 * {@code NAME failed: message}, so the test reads what worked from the output. A {@link LinkageError} counts as a
 * failure too: a native library that cannot load under the filter throws one.
 */
final class ChildSteps {
    private ChildSteps() {
    }

    interface Step {
        void run() throws Exception;
    }

    static void step(String name, Step step) {
        try {
            step.run();
            System.out.println(name + " ok");
        } catch (Exception | LinkageError e) {
            System.out.println(name + " failed: " + e);
        }
    }
}
