package dev.panavisor.compare;

import dev.panavisor.kvm.VcpuExit;

/**
 * The isolation row's fact for Panavisor: how many kinds of VM exit its run loop handles, i.e. the kinds of
 * request a guest can make of the host through the VMM (counted from the sealed {@code VcpuExit} hierarchy that
 * the run loop's switch must cover).
 */
final class VmExitKinds {
    private VmExitKinds() {
    }

    static int handledByPanavisor() {
        Class<?>[] kinds = VcpuExit.class.getPermittedSubclasses();
        return kinds == null ? 0 : kinds.length;
    }
}
