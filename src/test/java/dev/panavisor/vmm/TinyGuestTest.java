package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.kvm.CoalescedRing;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.Reg;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.kvm.abi.KvmCap;
import dev.panavisor.testing.Requires;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Real guest code on the real /dev/kvm: every exit is checked in order. */
@Tag("kvm")
class TinyGuestTest {
    @BeforeEach
    void needsKvm() {
        Requires.kvm();
    }

    @Test
    void real_mode_guest_writes_computed_bytes_then_halts() {
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.realMode(kvm, TinyPrograms.powersOfTwo())) {
            ByteArrayOutputStream written = new ByteArrayOutputStream();
            VcpuExit exit;
            while ((exit = guest.run()) instanceof VcpuExit.IoOut out) {
                assertEquals(TinyPrograms.RESULT_PORT, out.port());
                assertEquals(1, out.size());
                assertEquals(1, out.count());
                written.write((int) out.value());
            }
            assertInstanceOf(VcpuExit.Hlt.class, exit);
            assertEquals("[1, 2, 4, 8, 16, 32, 64, -128]", java.util.Arrays.toString(written.toByteArray()));
            // HLT is one byte after the program's start + its length - 1: RIP points past it.
            assertEquals(TinyGuest.LOAD_ADDRESS + TinyPrograms.powersOfTwo().length,
                    guest.vcpu().regs().get(Reg.RIP));
        }
    }

    @Test
    void port_writes_registered_as_coalesced_wait_in_the_ring_instead_of_exiting() {
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.realMode(kvm, TinyPrograms.powersOfTwo())) {
            CoalescedRing ring = guest.vm().coalescePortWrites(TinyPrograms.RESULT_PORT, 1);
            if (!kvm.has(KvmCap.COALESCED_PIO)) { // then nothing changes: every write still exits
                assertNull(ring);
                assertInstanceOf(VcpuExit.IoOut.class, guest.run());
                return;
            }
            assertInstanceOf(VcpuExit.Hlt.class, guest.run(), "eight writes to the port, and not one exit");
            List<String> writes = new ArrayList<>();
            assertEquals(8, ring.drain((pio, address, size, value) ->
                    writes.add((pio ? "port " : "mmio ") + address + "/" + size + "=" + value), true));
            assertEquals(List.of("port 16/1=1", "port 16/1=2", "port 16/1=4", "port 16/1=8", "port 16/1=16",
                    "port 16/1=32", "port 16/1=64", "port 16/1=128"), writes, "in the guest's order");
            assertTrue(ring.isEmpty());
        }
    }

    /**
     * An MMIO range registered as coalesced (as each virtio device's InterruptACK is): the guest's write to it waits
     * in the ring, which is the same one the port zones use, and the guest runs on to its halt.
     */
    @Test
    void mmio_writes_registered_as_coalesced_wait_in_the_same_ring() {
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.longMode(kvm, TinyPrograms.sumAndEcho())) {
            CoalescedRing ring = guest.vm().coalesceMmioWrites(TinyPrograms.MMIO_ADDRESS + 8, 8);
            assertInstanceOf(VcpuExit.IoOut.class, guest.run());
            VcpuExit.MmioRead read = assertInstanceOf(VcpuExit.MmioRead.class, guest.run());
            read.reply(0x1122_3344_5566_7788L);
            if (ring == null) { // a KVM without coalesced MMIO: the write exits as before
                assertInstanceOf(VcpuExit.MmioWrite.class, guest.run());
                return;
            }
            assertInstanceOf(VcpuExit.Hlt.class, guest.run(), "the write did not exit");
            List<String> writes = new ArrayList<>();
            assertEquals(1, ring.drain((pio, address, size, value) ->
                    writes.add((pio ? "port " : "mmio ") + Long.toHexString(address) + "/" + size + "="
                            + Long.toHexString(value)), true));
            assertEquals(List.of("mmio d0000008/8=1122334455667788"), writes);
            if (kvm.has(KvmCap.COALESCED_PIO)) {
                assertSame(ring, guest.vm().coalescePortWrites(TinyPrograms.RESULT_PORT, 1), "one ring per VM");
            }
        }
    }

    @Test
    void long_mode_guest_reports_over_port_io_and_echoes_an_mmio_value() {
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.longMode(kvm, TinyPrograms.sumAndEcho())) {
            VcpuExit.IoOut sum = assertInstanceOf(VcpuExit.IoOut.class, guest.run());
            assertEquals(TinyPrograms.RESULT_PORT, sum.port());
            assertEquals(2, sum.size());
            assertEquals(5050, sum.value());

            VcpuExit.MmioRead read = assertInstanceOf(VcpuExit.MmioRead.class, guest.run());
            assertEquals(TinyPrograms.MMIO_ADDRESS, read.address());
            assertEquals(8, read.size());
            read.reply(0x1122_3344_5566_7788L);

            VcpuExit.MmioWrite write = assertInstanceOf(VcpuExit.MmioWrite.class, guest.run());
            assertEquals(TinyPrograms.MMIO_ADDRESS + 8, write.address());
            assertEquals(8, write.size());
            assertEquals(0x1122_3344_5566_7788L, write.value(), "the guest wrote back what the VMM supplied");

            assertInstanceOf(VcpuExit.Hlt.class, guest.run());
            assertEquals(0x1122_3344_5566_7788L, guest.vcpu().regs().get(Reg.RBX));
        }
    }

    @Test
    void one_exit_of_each_kind_a_boot_makes_carries_its_values_both_ways() {
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.longMode(kvm, TinyPrograms.everyKindOfExit())) {
            VcpuExit.IoIn in = assertInstanceOf(VcpuExit.IoIn.class, guest.run());
            assertEquals(TinyPrograms.RESULT_PORT, in.port());
            assertEquals(1, in.size());
            in.data().set(0, 0x5a);

            VcpuExit.IoOut out = assertInstanceOf(VcpuExit.IoOut.class, guest.run());
            assertEquals(0x5a, out.value(), "the guest wrote back the byte it read");

            VcpuExit.MmioRead read = assertInstanceOf(VcpuExit.MmioRead.class, guest.run());
            assertEquals(TinyPrograms.MMIO_ADDRESS, read.address());
            read.reply(0x0102_0304_0506_0708L);
            VcpuExit.MmioWrite write = assertInstanceOf(VcpuExit.MmioWrite.class, guest.run());
            assertEquals(TinyPrograms.MMIO_ADDRESS + 8, write.address());
            assertEquals(0x0102_0304_0506_0708L, write.value());

            assertInstanceOf(VcpuExit.Hlt.class, guest.run());
        }
    }

    @Test
    void a_loop_of_port_writes_exits_once_per_write() {
        int count = 1000;
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.realMode(kvm, TinyPrograms.portWrites(count))) {
            int exits = 0;
            VcpuExit exit;
            while ((exit = guest.run()) instanceof VcpuExit.IoOut) {
                exits++;
            }
            assertInstanceOf(VcpuExit.Hlt.class, exit);
            assertEquals(count, exits);
        }
    }
}
