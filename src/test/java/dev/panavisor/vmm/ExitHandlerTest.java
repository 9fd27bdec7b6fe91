package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.panavisor.bus.Bus;
import dev.panavisor.bus.BusDevice;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.kvm.abi.KvmExitReason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The run loop's dispatch, driven with fake exits: no KVM needed. */
class ExitHandlerTest {
    static final class Recorder implements BusDevice {
        final List<String> log = new ArrayList<>();

        @Override
        public long read(long offset, int size) {
            log.add("r" + offset + "/" + size);
            return 0x40 + offset;
        }

        @Override
        public void write(long offset, int size, long value) {
            log.add("w" + offset + "/" + size + "=" + value);
        }
    }

    final Bus pio = new Bus("port I/O");
    final Bus mmio = new Bus("MMIO");
    final Recorder serial = new Recorder();
    final Recorder virtio = new Recorder();
    final ExitHandler handler = new ExitHandler(pio, mmio);

    ExitHandlerTest() {
        pio.register("serial", 0x3f8, 8, serial);
        mmio.register("virtio", 0xd000_0000L, 0x1000, virtio);
    }

    @Test
    void port_io_goes_to_the_bus_including_string_instructions() {
        assertNull(handler.handle(new VcpuExit.IoOut(0x3f8, 1, 3, ExitData.of('a', 'b', 'c'))));
        assertEquals(List.of("w0/1=97", "w0/1=98", "w0/1=99"), serial.log);
        long[] read = {0, 0};
        assertNull(handler.handle(new VcpuExit.IoIn(0x3fd, 1, 2, ExitData.of(read))));
        assertEquals(0x45, read[0]);
        assertEquals(0x45, read[1]);
        long[] nobody = {0};
        handler.handle(new VcpuExit.IoIn(0x80, 1, 1, ExitData.of(nobody)));
        assertEquals(0xff, nobody[0], "an unclaimed port reads as all ones");
    }

    @Test
    void mmio_goes_to_the_bus_and_reads_reply_to_the_guest() {
        long[] reply = {0};
        assertNull(handler.handle(new VcpuExit.MmioRead(0xd000_0070L, 4, ExitData.of(reply))));
        assertEquals(0x40 + 0x70, reply[0]);
        assertNull(handler.handle(new VcpuExit.MmioWrite(0xd000_0050L, 4, 1)));
        assertEquals(List.of("r112/4", "w80/4=1"), virtio.log);
    }

    @Test
    void fatal_exits_end_the_vm_with_a_reason() {
        assertInstanceOf(Outcome.GuestCrash.class, handler.handle(new VcpuExit.Shutdown()));
        assertEquals(new Outcome.GuestCrash("VM entry failed on CPU 1 (hardware reason 0x21)"),
                handler.handle(new VcpuExit.FailEntry(0x21, 1)));
        assertEquals(new Outcome.GuestCrash("KVM could not emulate a guest instruction"),
                handler.handle(new VcpuExit.InternalError(1, new long[0])));
        assertEquals(new Outcome.Stopped("the guest reset"),
                handler.handle(new VcpuExit.SystemEvent(KvmExitReason.SYSTEM_EVENT_RESET, new long[0])));
        assertInstanceOf(Outcome.GuestCrash.class, handler.handle(new VcpuExit.Unknown(99)));
        assertNull(handler.handle(new VcpuExit.Interrupted()));
    }
}
