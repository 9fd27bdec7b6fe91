package dev.panavisor.lab;

import dev.panavisor.kvm.KvmHost;

/**
 * The one place that decides where this host can run Linux guests: directly on its /dev/kvm when that is
 * hardware virtualization (kvm_intel, kvm_amd), otherwise inside the nested lab when the lab is available,
 * otherwise nowhere. {@code panavisor check}, {@code run} and the Linux-boot tests all ask here.
 *
 * @param route  where Linux guests run
 * @param host   what /dev/kvm is on this host
 * @param lab    whether the lab is available (probed only when it matters, else null)
 */
public record LinuxGuests(Route route, KvmHost host, LabAvailability lab) {
    public enum Route {
        /** Hardware KVM here: boot Linux guests directly. */
        DIRECT,
        /** No hardware KVM here, but the nested lab gives one: run inside {@code panavisor lab}. */
        LAB,
        /** Neither. */
        NONE
    }

    /** Probes this host. Inside a lab, KVM is kvm_amd, so this answers DIRECT there. */
    public static LinuxGuests locate() {
        return decide(KvmHost.probe(), LabAvailability::probe);
    }

    /** The decision itself, on given facts (the lab is probed only when hardware KVM is missing). */
    public static LinuxGuests decide(KvmHost host, java.util.function.Supplier<LabAvailability> lab) {
        return decide(host.bootsLinux(), host, lab);
    }

    /**
     * The decision when more is known than the host's modules: {@code bootsDirectly} is false for a hardware KVM
     * that failed {@code panavisor check}'s tiny guests or lacks a capability, which then goes to the lab too.
     */
    public static LinuxGuests decide(boolean bootsDirectly, KvmHost host,
            java.util.function.Supplier<LabAvailability> lab) {
        if (bootsDirectly) {
            return new LinuxGuests(Route.DIRECT, host, null);
        }
        LabAvailability availability = lab.get();
        return new LinuxGuests(availability.available() ? Route.LAB : Route.NONE, host, availability);
    }

    /** One line for users: where Linux guests run and why. */
    public String describe() {
        return switch (route) {
            case DIRECT -> "directly on " + host.device() + " (" + host.backing().description() + ")";
            case LAB -> "inside the nested lab (" + lab.detail() + ")";
            case NONE -> "nowhere (the nested lab " + lab.detail() + ")";
        };
    }

    /** Why Linux guests cannot run here at all (route NONE), for {@code run}'s and {@code bench}'s error. */
    public String nowhereReason() {
        return "Linux guests cannot run on this host: " + host.situation() + ", and the nested lab " + lab.detail();
    }

    /** What {@code run} and {@code bench} say on stderr before they go through the lab. */
    public String labNotice() {
        return host.situation() + "; running inside the nested lab (an emulated PC with its own KVM: slow but "
                + "real, see docs/lab.md)";
    }
}
