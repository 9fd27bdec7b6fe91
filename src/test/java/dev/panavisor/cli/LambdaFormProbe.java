package dev.panavisor.cli;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.vmm.ExitHandler;

/**
 * Run by {@link LinkedRuntimeTest} with {@code -Djava.lang.invoke.MethodHandle.TRACE_RESOLVE=true}: what a
 * {@code run}'s link-ahead thread does before the run opens {@code /dev/kvm} (Main.linkAhead), so that the JVM prints
 * every lambda form and species that work looks up, and whether it found it pregenerated. Needs no {@code /dev/kvm}.
 */
final class LambdaFormProbe {
    private LambdaFormProbe() {
    }

    public static void main(String[] args) {
        Kvm.linkAhead();
        ExitHandler.linkAhead();
    }
}
