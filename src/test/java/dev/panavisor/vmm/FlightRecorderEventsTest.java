package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.bus.Bus;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.mmio.MmioDriver;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.memory.HeapGuestMemory;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** run --jfr's events: VM exits, virtio-blk requests and boot phases, recorded and read back, without KVM. */
class FlightRecorderEventsTest {
    @TempDir
    Path dir;

    List<RecordedEvent> record(Runnable work) throws Exception {
        Path file = dir.resolve("run.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("dev.panavisor.VmExit");
            recording.enable("dev.panavisor.BlockRequest");
            recording.enable("dev.panavisor.BootPhase");
            recording.start();
            work.run();
            recording.stop();
            recording.dump(file);
        }
        return RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().startsWith("dev.panavisor.")).toList();
    }

    @Test
    void exits_block_requests_and_boot_phases_become_events() throws Exception {
        // JFR is up before the VM is built, as run --jfr starts its recording first: only then are events made.
        jdk.jfr.FlightRecorder.getFlightRecorder();
        Bus pio = new Bus("port I/O");
        Bus mmio = new Bus("MMIO");
        ExitHandler handler = new ExitHandler(pio, mmio);
        HeapGuestMemory memory = new HeapGuestMemory(1 << 20);
        VirtioBlock block = new VirtioBlock(new HeapDiskBackend(new byte[16 * 512], false), "vda");
        VirtioMmioTransport transport = new VirtioMmioTransport(block, memory, level -> { });
        MmioDriver driver = MmioDriver.onBus(transport, memory);
        BootTimeline timeline = new BootTimeline(System.nanoTime());

        List<RecordedEvent> events = record(() -> {
            handler.handle(new VcpuExit.IoOut(0x3f8, 1, 1, ExitData.of('H')));
            handler.handle(new VcpuExit.MmioWrite(0xd000_0050L, 4, 0));
            driver.negotiate(VirtioFeatures.VERSION_1);
            DriverQueue queue = driver.setUpQueue(0, 0x1000);
            driver.driverOk();
            memory.writeU32(0x8000, 0); // VIRTIO_BLK_T_IN, sector 3, 1024 bytes
            memory.writeU64(0x8008, 3);
            queue.add(DriverQueue.readable(0x8000, 16), DriverQueue.writable(0x9000, 1024),
                    DriverQueue.writable(0x8100, 1));
            driver.notify(0);
            timeline.mark(BootTimeline.Phase.VM_CREATED);
            timeline.mark(BootTimeline.Phase.VM_CREATED); // the first mark wins: one event
        });

        List<RecordedEvent> exits = of(events, "dev.panavisor.VmExit");
        assertEquals(2, exits.size(), events.toString());
        assertEquals("io-out", exits.get(0).getString("kind"));
        assertEquals(0x3f8, exits.get(0).getLong("address"));
        assertEquals(1, exits.get(0).getInt("size"));
        assertEquals("mmio-write", exits.get(1).getString("kind"));
        assertEquals(0xd000_0050L, exits.get(1).getLong("address"));

        List<RecordedEvent> requests = of(events, "dev.panavisor.BlockRequest");
        assertEquals(1, requests.size(), events.toString());
        RecordedEvent read = requests.getFirst();
        assertEquals(block.name(), read.getString("device"));
        assertEquals("read", read.getString("type"));
        assertEquals(3, read.getLong("sector"));
        assertEquals(1024, read.getLong("bytes"));
        assertEquals("OK", read.getString("status"));

        List<RecordedEvent> phases = of(events, "dev.panavisor.BootPhase");
        assertEquals(1, phases.size(), events.toString());
        assertEquals(BootTimeline.Phase.VM_CREATED.label(), phases.getFirst().getString("phase"));
        assertTrue(phases.getFirst().getLong("sinceStart") >= 0);
        assertEquals(Long.MIN_VALUE, phases.getFirst().getLong("guestClock"));
    }

    /**
     * Without JFR, a VM's handlers never load a JFR event class: the first one loaded sets up JFR's event machinery,
     * hundreds of milliseconds of a boot on the lab's CPU. A fresh JVM (this one may have JFR up already) builds an
     * exit handler, a block device and a boot timeline, handles an exit and a request, and lists its loaded classes.
     */
    @Test
    void without_jfr_no_event_class_is_ever_loaded() throws Exception {
        String output = ChildJvm.run(List.of("-Xlog:class+load=info:stdout"), NoFlightRecorderMain.class);
        assertTrue(output.contains("handled"), output);
        assertTrue(output.contains("dev.panavisor.vmm.ExitHandler "), "the class log is there: " + output);
        List<String> jfr = output.lines().filter(line -> line.contains(" jdk.jfr.") || line.contains(" "
                + VmExitEvent.class.getName() + " ") || line.contains(" dev.panavisor.devices.virtio.block."
                + "BlockRequestEvent ") || line.contains(" " + BootPhaseEvent.class.getName() + " "))
                .filter(line -> !line.contains(" jdk.jfr.FlightRecorder ")).toList();
        assertEquals(List.of(), jfr, "JFR classes loaded without a recording");
    }

    static List<RecordedEvent> of(List<RecordedEvent> events, String name) {
        return events.stream().filter(e -> e.getEventType().getName().equals(name)).toList();
    }
}
