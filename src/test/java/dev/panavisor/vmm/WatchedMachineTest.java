package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.testing.Requires;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole {@link Machine} watched as {@code run --verbose --trace exits} watches it: a synthetic guest writes "ok"
 * to COM1 and resets through the i8042. Runs on any /dev/kvm that runs tiny guests.
 */
@Tag("kvm")
class WatchedMachineTest {
    @Test
    void verbose_events_and_traced_exits_tell_the_run(@TempDir Path dir) {
        Requires.kvm();
        List<String> events = new CopyOnWriteArrayList<>();
        List<String> exits = new CopyOnWriteArrayList<>();
        MachineConfig config = SyntheticGuests.machineWithDisk(dir, SyntheticGuests.SERIAL_OK_THEN_RESET, 64L << 20);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Outcome outcome;
        boolean coalesced;
        boolean coalescedMmio;
        try (Kvm kvm = Kvm.open();
                Machine machine = Machine.create(kvm, config, console, System.nanoTime(), null, null,
                        new Watch(events::add, exits::add))) {
            coalesced = kvm.has(dev.panavisor.kvm.abi.KvmCap.COALESCED_PIO);
            coalescedMmio = kvm.checkExtension(dev.panavisor.kvm.abi.KvmCap.COALESCED_MMIO) > 0;
            outcome = machine.run(null, null);
        }
        assertInstanceOf(Outcome.Stopped.class, outcome);
        assertEquals("ok", console.toString());

        assertTrue(events.getFirst().matches("virtio-blk \\(.*disk.img\\): virtio-mmio at 0xd0000000, IRQ 5"),
                events.toString());
        assertTrue(events.get(1).startsWith("kernel " + config.kernel() + " loaded (LONG_MODE_64 entry at 0x"),
                events.toString());
        assertTrue(events.get(1).contains("virtio_mmio.device="), events.toString());
        List<String> run = new ArrayList<>(List.of("vCPU 0: started", Machine.GUEST_RESET, "vCPU 0: stopped"));
        if (coalescedMmio) { // the disk's interrupt acknowledgements (MachineAssembly, step 6)
            run.addFirst("virtio-mmio at 0xd0000000: InterruptACK writes coalesced");
        }
        if (coalesced) {
            run.addFirst("COM1: writes to its transmit register coalesced (KVM_CAP_COALESCED_PIO)");
        }
        assertEquals(run, events.subList(2, events.size()));

        // Where KVM coalesces them, the UART's writes wait in the ring and reach it just before the next exit.
        String how = coalesced ? "coalesced: " : "exit: ";
        assertEquals(List.of(
                how + "out 0x3f8 = 0x6f 'o' -> COM1 THR",
                how + "out 0x3f8 = 0x6b 'k' -> COM1 THR",
                "exit: out 0x64 = 0xfe -> i8042 command"), exits.subList(0, 3));
    }
}
