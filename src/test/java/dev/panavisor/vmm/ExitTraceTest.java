package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.bus.Bus;
import dev.panavisor.devices.serial.Uart8250;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.mmio.MmioRegisters;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.kvm.abi.KvmExitReason;
import dev.panavisor.memory.HeapGuestMemory;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** run --trace exits: fake exits through a handler with the real 8250 and virtio-mmio devices, decoded. */
class ExitTraceTest {
    final List<String> lines = new ArrayList<>();
    final Bus pio = new Bus("port I/O");
    final Bus mmio = new Bus("MMIO");
    final ByteArrayOutputStream console = new ByteArrayOutputStream();
    final ExitHandler handler = new ExitHandler(pio, mmio, new ExitTrace(pio, mmio, lines::add));

    ExitTraceTest() {
        pio.register("COM1", Uart8250.COM1_BASE, Uart8250.PORT_COUNT, new Uart8250(console, level -> { }));
        mmio.register("virtio-blk (d)", 0xd000_0000L, 0x1000, new VirtioMmioTransport(
                new VirtioBlock(new HeapDiskBackend(4096), "d"), new HeapGuestMemory(1 << 16), level -> { }));
    }

    @Test
    void port_and_mmio_exits_name_the_device_register_and_value() {
        handler.handle(new VcpuExit.IoOut(0x3f8, 1, 1, ExitData.of('H')));
        handler.handle(new VcpuExit.IoIn(0x3fd, 1, 1, ExitData.of(0)));
        handler.handle(new VcpuExit.IoOut(0x3fb, 1, 1, ExitData.of(0x80))); // DLAB on
        handler.handle(new VcpuExit.IoOut(0x3f8, 1, 1, ExitData.of(0x01)));
        handler.handle(new VcpuExit.IoIn(0x61, 1, 1, ExitData.of(0)));
        handler.handle(new VcpuExit.MmioRead(0xd000_0000L, 4, ExitData.of(0)));
        handler.handle(new VcpuExit.MmioWrite(0xd000_0000L + MmioRegisters.STATUS, 4, 1));
        handler.handle(new VcpuExit.SystemEvent(KvmExitReason.SYSTEM_EVENT_SHUTDOWN, new long[0]));
        assertEquals(List.of(
                "exit: out 0x3f8 = 0x48 'H' -> COM1 THR",
                "exit: in 0x3fd -> COM1 LSR = 0x60",
                "exit: out 0x3fb = 0x80 -> COM1 LCR",
                "exit: out 0x3f8 = 0x1 -> COM1 DLL",
                "exit: in 0x61 -> nobody = 0xff",
                "exit: mmio read 0xd0000000 (4 bytes) -> virtio-blk (d) MagicValue = 0x74726976",
                "exit: mmio write 0xd0000070 = 0x1 (4 bytes) -> virtio-blk (d) Status",
                "exit: system event " + KvmExitReason.SYSTEM_EVENT_SHUTDOWN + " => stopped: the guest powered off"),
                lines);
        assertEquals("H", console.toString(), "traced exits are handled as ever");
    }

    @Test
    void a_write_from_the_coalesced_ring_is_traced_as_such_reaches_its_device_and_is_no_exit() {
        handler.coalesced(true, 0x3f8, 1, 'o');
        handler.coalesced(true, 0x3f8, 1, 'k');
        assertEquals(List.of("coalesced: out 0x3f8 = 0x6f 'o' -> COM1 THR",
                "coalesced: out 0x3f8 = 0x6b 'k' -> COM1 THR"), lines);
        assertEquals("ok", console.toString());
        assertEquals(2, handler.stats().coalescedWrites());
        assertEquals(0, handler.stats().total(), "no exit was counted");
    }

    @Test
    void without_a_trace_nothing_is_said_and_the_decision_is_the_same() {
        ExitHandler quiet = new ExitHandler(pio, mmio);
        // The same exits through the traced handler and one without a trace, on the same devices.
        assertEquals(handler.handle(new VcpuExit.IoOut(0x3f8, 1, 1, ExitData.of('x'))),
                quiet.handle(new VcpuExit.IoOut(0x3f8, 1, 1, ExitData.of('y'))));
        long[] traced = {0};
        long[] untraced = {0};
        handler.handle(new VcpuExit.IoIn(0x3fd, 1, 1, ExitData.of(traced)));
        quiet.handle(new VcpuExit.IoIn(0x3fd, 1, 1, ExitData.of(untraced)));
        assertEquals(0x60, traced[0], "LSR: transmitter empty");
        assertEquals(traced[0], untraced[0], "the same value read");
        VcpuExit shutdown = new VcpuExit.SystemEvent(KvmExitReason.SYSTEM_EVENT_SHUTDOWN, new long[0]);
        Outcome stopped = handler.handle(shutdown);
        assertEquals(new Outcome.Stopped("the guest powered off"), stopped);
        assertEquals(stopped, quiet.handle(shutdown));
        assertEquals(3, lines.size(), "only the traced handler's three exits are said: " + lines);
        assertEquals("xy", console.toString(), "both handlers' writes reached the UART");
    }
}
