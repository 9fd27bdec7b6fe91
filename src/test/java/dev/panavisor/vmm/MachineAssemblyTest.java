package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panavisor.devices.virtio.block.DiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.net.VirtioNet;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** What the VM's end does before it joins any thread: without KVM, on the assembly's own parts. */
class MachineAssemblyTest {
    /** A disk that records being told the VM ends. */
    static final class EndingDisk implements DiskBackend {
        int abandoned;

        @Override
        public void abandonTransfers() {
            abandoned++;
        }

        @Override
        public String name() {
            return "ending";
        }

        @Override
        public long sizeBytes() {
            return 4096;
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public void read(long offset, ByteBuffer destination) {
        }

        @Override
        public void write(long offset, ByteBuffer source) {
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    /** A host side that records being told to stop sending. */
    static final class EndingNetwork implements HostNetwork {
        final List<String> calls = new ArrayList<>();

        @Override
        public void start(VirtioNet device, Object lock, Consumer<Throwable> failed) {
        }

        @Override
        public void wake() {
        }

        @Override
        public void stopSending() {
            calls.add("stopSending");
        }

        @Override
        public void transmit(byte[] frame, int offset, int length) {
        }

        @Override
        public String name() {
            return "ending";
        }

        @Override
        public void close() {
            calls.add("close");
        }
    }

    /** An assembly before it builds anything: the parts a test puts in are all it has. */
    private static MachineAssembly assembly() {
        return new MachineAssembly(new MachineConfig(Path.of("/k"), Optional.empty(), List.of(), "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, Optional.empty()), null);
    }

    @Test
    void letting_go_of_host_work_stops_passts_sending_and_every_disks_transfers() {
        MachineAssembly assembly = assembly();
        EndingDisk first = new EndingDisk();
        EndingDisk second = new EndingDisk();
        assembly.blocks.add(new VirtioBlock(first, "a"));
        assembly.blocks.add(new VirtioBlock(second, "b"));
        EndingNetwork network = new EndingNetwork();
        assembly.network = network;
        assembly.letGoOfHostWork();
        assertEquals(List.of("stopSending"), network.calls, "told to stop sending, not closed yet");
        assertEquals(1, first.abandoned);
        assertEquals(1, second.abandoned);
    }

    @Test
    void without_a_network_card_only_the_disks_are_told() {
        MachineAssembly assembly = assembly();
        EndingDisk disk = new EndingDisk();
        assembly.blocks.add(new VirtioBlock(disk, "a"));
        assembly.letGoOfHostWork();
        assertEquals(1, disk.abandoned);
    }
}
