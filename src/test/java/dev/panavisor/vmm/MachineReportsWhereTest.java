package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.testing.Requires;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a guest crashes or stalls, the user's one line says where the vCPU stood: its instruction pointer, read on
 * the vCPU's own thread once it has left KVM_RUN. The synthetic kernels' 64-bit entry is at 0x100200 (the
 * protected-mode code is loaded at 1 MiB, startup_64 is 0x200 into it), so that is where both stand.
 */
@Tag("kvm")
class MachineReportsWhereTest {
    private static final String ENTRY = "vCPU 0 at rip 0x100200";

    private static Outcome run(Path dir, byte[] code, Duration stallLimit) {
        Requires.kvm();
        MachineConfig config = SyntheticGuests.machineWithDisk(dir, code, 32L << 20);
        return assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            try (Kvm kvm = Kvm.open();
                    Machine machine = Machine.create(kvm, config, OutputStream.nullOutputStream(), System.nanoTime())) {
                return machine.run(stallLimit);
            }
        });
    }

    @Test
    void a_triple_fault_names_the_faulting_instruction(@TempDir Path dir) {
        // ud2 with the boot IDT (limit 0): #UD cannot be delivered, nor the #GP and #DF that follow: a shutdown.
        Outcome outcome = run(dir, new byte[] {0x0f, 0x0b}, null);
        Outcome.GuestCrash crash = assertInstanceOf(Outcome.GuestCrash.class, outcome);
        // On AMD (the nested lab's kvm_amd), KVM resets the vCPU when it intercepts the shutdown (the VMCB is
        // undefined after one), so the registers then show the reset vector; Intel's and kvm_pvm's keep the fault's.
        assertTrue(crash.reason().equals("triple fault (the vCPU shut down); " + ENTRY)
                || crash.reason().equals("triple fault (the vCPU shut down); vCPU 0 at rip 0xfff0"), crash.reason());
    }

    @Test
    void a_stall_names_where_the_spinning_vcpu_was(@TempDir Path dir) {
        // jmp $: busy, no exit, no output, forever.
        Outcome outcome = run(dir, new byte[] {(byte) 0xeb, (byte) 0xfe}, Duration.ofSeconds(1));
        Outcome.Stalled stalled = assertInstanceOf(Outcome.Stalled.class, outcome);
        assertTrue(stalled.what().endsWith("; " + ENTRY), stalled.what());
    }
}
