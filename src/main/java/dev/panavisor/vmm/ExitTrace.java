package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;

/**
 * {@code run --trace exits}: every VM exit as one line a learner can read, decoded down to the device register it
 * reached, for example
 *
 * <pre>
 * exit: out 0x3f8 = 0x48 'H' -> COM1 THR
 * exit: in 0x3fd -> COM1 LSR = 0x60
 * exit: mmio write 0xd0000070 = 0xf (4 bytes) -> virtio-blk (disk.img) Status
 * exit: in 0x2fd -> nobody = 0xff
 * </pre>
 *
 * Called by {@link ExitHandler} after the exit was handled, so a read shows the value the guest got. Every exit
 * prints a line, and the guest waits for it: a traced boot is much slower (each byte on the serial console is an
 * exit), which is why this is for teaching and tiny guests, and why it costs nothing when off (one null check).
 */
public final class ExitTrace {
    private final Bus pio;
    private final Bus mmio;
    private final EventLog sink;

    public ExitTrace(Bus pio, Bus mmio, EventLog sink) {
        this.pio = pio;
        this.mmio = mmio;
        this.sink = sink;
    }

    void traced(VcpuExit exit, Outcome result) {
        String line = describe(exit);
        if (result != null) {
            line += " => " + result.describe();
        }
        sink.event("exit: " + line);
    }

    /**
     * A write that reached its device from KVM's coalesced ring, not through an exit of its own (docs/boot.md, "Writes
     * that do not exit"): traced like the exit it would have been, marked as such, as it is handed over.
     */
    void coalesced(boolean port, long address, int size, long value) {
        VcpuExit write = port ? new VcpuExit.IoOut((int) address, size, 1, ExitData.of(value))
                : new VcpuExit.MmioWrite(address, size, value);
        sink.event("coalesced: " + describe(write));
    }

    /** The exit as one line, without the "exit: " prefix. */
    String describe(VcpuExit exit) {
        return switch (exit) {
            case VcpuExit.IoOut out -> String.format("out 0x%x = %s%s -> %s", out.port(), value(out.value(),
                    out.size()), repeated(out.count()), target(pio, out.port(), out.size(), true));
            case VcpuExit.IoIn in -> String.format("in 0x%x%s -> %s = %s", in.port(), repeated(in.count()),
                    target(pio, in.port(), in.size(), false), String.format("0x%x", in.data().get(0)));
            case VcpuExit.MmioWrite write -> String.format("mmio write 0x%x = %s (%d bytes) -> %s", write.address(),
                    value(write.value(), write.size()), write.size(), target(mmio, write.address(), write.size(),
                            true));
            case VcpuExit.MmioRead read -> String.format("mmio read 0x%x (%d bytes) -> %s = %s", read.address(),
                    read.size(), target(mmio, read.address(), read.size(), false), String.format("0x%x",
                            read.data().get(0)));
            case VcpuExit.Hlt hlt -> "hlt";
            case VcpuExit.Interrupted interrupted -> "interrupted (kicked out of KVM_RUN)";
            case VcpuExit.Shutdown shutdown -> "shutdown (triple fault)";
            case VcpuExit.FailEntry fail -> String.format("failed entry (hardware reason 0x%x)",
                    fail.hardwareReason());
            case VcpuExit.InternalError error -> "internal error (suberror " + error.suberror() + ")";
            case VcpuExit.SystemEvent event -> "system event " + event.type();
            case VcpuExit.Unknown unknown -> "unknown exit reason " + unknown.reason();
        };
    }

    /** The device and register an access reached, or "nobody" (the bus answered it: all ones, or dropped). */
    private static String target(Bus bus, long address, int size, boolean write) {
        Bus.Range range = bus.find(address, size);
        if (range == null) {
            return "nobody";
        }
        String register;
        synchronized (range.lock()) { // the device's lock, as for its accesses: the name may depend on its state
            register = range.device().registerName(address - range.base(), write);
        }
        return range.name() + " " + (register != null ? register
                : String.format("+0x%x", address - range.base()));
    }

    /**
     * A value written, in hex, and a one-byte one also as its character when printable ('H'): bytes a guest writes
     * are mostly text on its console. (Bytes read are mostly status bits, where a character would mislead.)
     */
    static String value(long value, int size) {
        String hex = String.format("0x%x", value);
        if (size == 1 && value >= 0x20 && value < 0x7f) {
            return hex + " '" + (char) value + "'";
        }
        return hex;
    }

    private static String repeated(int count) {
        return count > 1 ? " (x" + count + ", rep)" : "";
    }
}
