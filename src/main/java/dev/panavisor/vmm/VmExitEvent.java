package dev.panavisor.vmm;

import dev.panavisor.kvm.VcpuExit;
import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.MemoryAddress;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A JDK Flight Recorder event for one VM exit, from its arrival in {@link ExitHandler#handle} to the decision: its
 * kind, the port or guest-physical address and the access size ({@code run --jfr}; docs/boot.md). Its duration is
 * the VMM's handling time, not the guest's round trip. With no recording running, JFR leaves the event disabled
 * and the JIT removes it; {@code bench exits --trace-cost} measures what is left.
 */
@Name("dev.panavisor.VmExit")
@Label("VM Exit")
@Category({"Panavisor", "VM"})
@Description("One exit of a vCPU to the VMM, handled")
@StackTrace(false)
public final class VmExitEvent extends Event {
    @Label("Kind")
    @Description("io-out, io-in, mmio-write, mmio-read, hlt, system-event, ...")
    String kind;

    @Label("Port or Address")
    @MemoryAddress // shown in hex by jfr print and Mission Control
    long address;

    @Label("Size")
    @Description("Access width in bytes; 0 for exits that are no access")
    int size;

    /** Fills the fields from {@code exit}; called only when the event will be committed. */
    void describe(VcpuExit exit) {
        switch (exit) {
            case VcpuExit.IoOut out -> set("io-out", out.port(), out.size());
            case VcpuExit.IoIn in -> set("io-in", in.port(), in.size());
            case VcpuExit.MmioWrite write -> set("mmio-write", write.address(), write.size());
            case VcpuExit.MmioRead read -> set("mmio-read", read.address(), read.size());
            case VcpuExit.Hlt hlt -> set("hlt", 0, 0);
            case VcpuExit.Interrupted interrupted -> set("interrupted", 0, 0);
            case VcpuExit.Shutdown shutdown -> set("shutdown", 0, 0);
            case VcpuExit.FailEntry fail -> set("fail-entry", fail.hardwareReason(), 0);
            case VcpuExit.InternalError error -> set("internal-error", error.suberror(), 0);
            case VcpuExit.SystemEvent event -> set("system-event", event.type(), 0);
            case VcpuExit.Unknown unknown -> set("unknown", unknown.reason(), 0);
        }
    }

    private void set(String kind, long address, int size) {
        this.kind = kind;
        this.address = address;
        this.size = size;
    }
}
