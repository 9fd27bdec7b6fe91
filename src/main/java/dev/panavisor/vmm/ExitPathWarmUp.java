package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.devices.InterruptLine;
import dev.panavisor.devices.legacy.I8042;
import dev.panavisor.devices.serial.Uart8250;
import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.block.HeapDiskBackend;
import dev.panavisor.devices.virtio.block.VirtioBlock;
import dev.panavisor.devices.virtio.mmio.MmioRegisters;
import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.devices.virtio.queue.DriverQueue;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.memory.GuestLayout;
import dev.panavisor.memory.MappedGuestMemory;
import java.io.OutputStream;
import java.util.ArrayDeque;

/**
 * Plays the exits of a Linux boot through scratch devices before the guest makes them, so that the guest's first
 * exits find their code already run, resolved and compiled.
 *
 * <p>Why: a JVM runs a method interpreted until it has been called often enough to compile, and the first run of a
 * path also resolves its calls, initializes its classes and links the exit handler's pattern switch (a class
 * generated at run time, which the AOT cache cannot hold). A guest's boot makes about 220 exits to user space, most
 * of them of a kind it makes only a few times, so nearly all of them ran cold: in the nested lab the first exit took
 * 15-26 ms, the first of each kind 1-9 ms, the whole boot's exits 124-192 ms, against 0.1-0.4 ms for an exit whose
 * path has run before (KVM's tracepoints, docs/performance.md "The guest's exits, warmed up"). The guest waits for
 * all of it: while its vCPU is in an exit, it does not run.
 *
 * <p>What: each round builds new instances of the devices a VM started through the API has on its buses — the
 * 8250, the i8042, the boot timer, and a virtio-mmio transport with a virtio-blk device (a drive; the net and vsock
 * devices share the transport's code) on a scratch disk in memory — on a scratch {@link MappedGuestMemory}, and
 * hands an {@link ExitHandler} the exits Linux's drivers make to them, as the records {@code Vcpu} decodes: the
 * 8250's probe and set-up, the i8042's, the virtio-mmio probe, feature negotiation, queue set-up and DRIVER_OK, a
 * read of the disk's first sectors and its interrupt handled. A request that a device worker would serve is served
 * on this thread afterwards, as the worker does. Nothing is shared with a machine: no KVM, no file descriptor, no
 * output.
 *
 * <p>The scratch objects are not all of the classes a VM uses (an array for the exit's data, not the kvm_run page;
 * an interrupt line that does nothing; a disk in memory): where a real VM's first exit meets a second class at a
 * call site, a compiler that assumed one may recompile it, once.
 *
 * <p>Where: in the standby ({@code serve}'s warm VMM), which has time to spare before InstanceStart. Not in a cold
 * {@code run}: there it can only run beside the VM's assembly and the guest's boot, and in the lab it made the boot
 * slower, not faster (the guest's time to its banner, A/B in one lab session, 8 boots each: 0.83-1.04 s in 7 of 8
 * boots without it, 1.03-1.92 s in 6 of 8 with it; docs/performance.md). Tried again in the thirty-ninth session,
 * once the lab's memory stall no longer decided the medians, as one round of the {@code --exec} ports device's
 * exits begun with the vCPUs: banner medians 1.08 s with it, 0.91 s without (10 boots each).
 */
public final class ExitPathWarmUp {
    /**
     * Rounds. The first pays nearly all (in the lab, with the AOT cache: 235-310 ms, then 50-110, then 20-50); the
     * exits that a boot makes many times, which every round makes many times too, are compiled after about 10 calls
     * (jvm.options).
     */
    static final int ROUNDS = 8;
    /** The scratch guest memory: the queue, a request's header, data and status. */
    private static final long MEMORY = 256 << 10;
    private static final long QUEUE = 0x1000;
    private static final long HEADER = 0x20000;
    private static final long STATUS = 0x20100;
    private static final long DATA = 0x21000;
    private static final int SECTORS = 8;
    private static final long VIRTIO = GuestLayout.VIRTIO_MMIO_BASE;
    /** VIRTIO_BLK_T_IN (virtio 1.2 §5.2.6). */
    private static final int READ = 0;

    private ExitPathWarmUp() {
    }

    /** Plays {@link #ROUNDS} rounds; returns the number of exits handled. */
    public static long run() {
        return run(ROUNDS);
    }

    static long run(int rounds) {
        long exits = 0;
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(MEMORY)) {
            for (int i = 0; i < rounds; i++) {
                exits += new Round(memory).play();
            }
        }
        return exits;
    }

    /** One boot's worth of exits against fresh devices. */
    static final class Round {
        private final MappedGuestMemory memory;
        private final Bus pio = new Bus("port I/O");
        private final Bus mmio = new Bus("MMIO");
        private final ExitHandler handler = new ExitHandler(pio, mmio);
        private final VirtioMmioTransport transport;
        /** Queues whose notification a device worker would serve, in order. */
        private final ArrayDeque<Integer> forTheWorker = new ArrayDeque<>();
        private final long[] slot = new long[1];
        private final ExitData data = ExitData.of(slot);
        private DriverQueue queue;
        private long exits;

        Round(MappedGuestMemory memory) {
            this.memory = memory;
            InterruptLine none = asserted -> { };
            pio.register("COM1", Uart8250.COM1_BASE, Uart8250.PORT_COUNT,
                    new Uart8250(OutputStream.nullOutputStream(), none));
            I8042 i8042 = new I8042(() -> { }, none);
            pio.register("i8042", I8042.DATA_PORT, 1, i8042.dataPort(), i8042);
            pio.register("i8042", I8042.COMMAND_PORT, 1, i8042.commandPort(), i8042);
            pio.register("boot timer", BootTimer.PORT, 1, new BootTimer(System.nanoTime()));
            VirtioBlock disk = new VirtioBlock(new HeapDiskBackend(SECTORS * VirtioBlock.SECTOR_SIZE), "warm-up");
            transport = new VirtioMmioTransport(disk, memory, none);
            transport.routeNotifications(index -> { // as DeviceWorker routes them
                if (disk.servedInExit(index)) {
                    transport.notifyQueue(index);
                } else {
                    forTheWorker.add(index);
                }
            });
            mmio.register("virtio-blk", VIRTIO, GuestLayout.VIRTIO_MMIO_SIZE, transport);
        }

        VirtioMmioTransport transport() {
            return transport;
        }

        /** The scratch request's status byte: VIRTIO_BLK_S_OK (0) once the read was served. */
        int lastStatus() {
            return memory.readU8(STATUS);
        }

        long play() {
            serial();
            keyboardController();
            virtioProbe();
            readFirstSectors();
            out(BootTimer.PORT, BootTimer.MARKER);
            return exits;
        }

        /** drivers/tty/serial/8250: autoconfig's probe, the set-up of the line, and a few bytes written. */
        private void serial() {
            long com1 = Uart8250.COM1_BASE;
            out(com1 + 1, 0);       // IER
            in(com1 + 3);           // LCR
            out(com1 + 3, 0x93);    // DLAB on
            out(com1, 0x0c);        // divisor latch
            out(com1 + 3, 0x13);
            out(com1 + 2, 0x07);    // FCR: FIFO on, cleared
            in(com1 + 2);           // IIR
            out(com1 + 4, 0x0b);    // MCR
            in(com1 + 5);           // LSR
            in(com1 + 6);           // MSR
            out(com1 + 7, 0xa5);    // scratch
            in(com1 + 7);
            out(com1 + 1, 0x0f);
            in(com1);               // RBR
            out(com1 + 1, 0x02);    // THRE interrupt on
            in(com1 + 2);
            for (char c : "ok\n".toCharArray()) {
                in(com1 + 5);
                out(com1, c);       // THR
            }
            out(com1 + 1, 0x00);
            in(0x2f8 + 1);          // an absent UART's port: no device there
            out(0x2f8 + 1, 0x0f);
        }

        /** drivers/input/serio/i8042.c with i8042.dumbkbd: flush, read and write the command byte. */
        private void keyboardController() {
            in(I8042.COMMAND_PORT);
            out(I8042.COMMAND_PORT, 0x20);
            in(I8042.COMMAND_PORT);
            in(I8042.DATA_PORT);
            out(I8042.COMMAND_PORT, 0x60);
            out(I8042.DATA_PORT, 0x45);
        }

        /** drivers/virtio/virtio_mmio.c and virtio.c: probe, features (§3.1.1), queues (§4.2.3.2), DRIVER_OK. */
        private void virtioProbe() {
            read(MmioRegisters.MAGIC_VALUE);
            read(MmioRegisters.VERSION);
            read(MmioRegisters.DEVICE_ID);
            read(MmioRegisters.VENDOR_ID);
            write(MmioRegisters.STATUS, 0);
            addStatus(DeviceStatus.ACKNOWLEDGE);
            addStatus(DeviceStatus.DRIVER);
            write(MmioRegisters.DEVICE_FEATURES_SEL, 1);
            long features = read(MmioRegisters.DEVICE_FEATURES) << 32;
            write(MmioRegisters.DEVICE_FEATURES_SEL, 0);
            features |= read(MmioRegisters.DEVICE_FEATURES);
            write(MmioRegisters.DRIVER_FEATURES_SEL, 0);
            write(MmioRegisters.DRIVER_FEATURES, features & 0xffff_ffffL);
            write(MmioRegisters.DRIVER_FEATURES_SEL, 1);
            write(MmioRegisters.DRIVER_FEATURES, features >>> 32);
            addStatus(DeviceStatus.FEATURES_OK);
            read(MmioRegisters.CONFIG);      // virtio_blk_config.capacity, low and high
            read(MmioRegisters.CONFIG + 4);
            read(MmioRegisters.CONFIG + 12); // seg_max
            for (int index = 0; index < transport.queueCount(); index++) {
                write(MmioRegisters.QUEUE_SEL, index);
                read(MmioRegisters.QUEUE_READY);
                int size = (int) read(MmioRegisters.QUEUE_NUM_MAX);
                QueueLayout layout = QueueLayout.contiguous(QUEUE, size);
                queue = new DriverQueue(memory, layout);
                write(MmioRegisters.QUEUE_NUM, size);
                write(MmioRegisters.QUEUE_DESC_LOW, layout.descriptorTable());
                write(MmioRegisters.QUEUE_DESC_HIGH, 0);
                write(MmioRegisters.QUEUE_DRIVER_LOW, layout.availableRing());
                write(MmioRegisters.QUEUE_DRIVER_HIGH, 0);
                write(MmioRegisters.QUEUE_DEVICE_LOW, layout.usedRing());
                write(MmioRegisters.QUEUE_DEVICE_HIGH, 0);
                write(MmioRegisters.QUEUE_READY, 1);
            }
            addStatus(DeviceStatus.DRIVER_OK);
        }

        /** drivers/block/virtio_blk.c: the partition scan's first read (§5.2.6: header, data, status byte). */
        private void readFirstSectors() {
            memory.writeU32(HEADER, READ);
            memory.writeU32(HEADER + 4, 0);
            memory.writeU64(HEADER + 8, 0); // sector 0
            memory.writeU8(STATUS, 0xff);
            long length = (long) SECTORS * VirtioBlock.SECTOR_SIZE;
            queue.add(DriverQueue.readable(HEADER, 16), DriverQueue.writable(DATA, length),
                    DriverQueue.writable(STATUS, 1));
            notify(0);
            queue.pollUsed();
        }

        private void notify(int index) {
            write(MmioRegisters.QUEUE_NOTIFY, index);
            while (!forTheWorker.isEmpty()) {
                transport.serveQueue(forTheWorker.poll());
            }
            long cause = read(MmioRegisters.INTERRUPT_STATUS); // vm_interrupt
            if (cause != 0) {
                write(MmioRegisters.INTERRUPT_ACK, cause);
            }
        }

        private void addStatus(int bit) {
            write(MmioRegisters.STATUS, read(MmioRegisters.STATUS) | bit);
        }

        private long read(int register) {
            dispatch(new VcpuExit.MmioRead(VIRTIO + register, 4, data));
            return slot[0];
        }

        private void write(int register, long value) {
            dispatch(new VcpuExit.MmioWrite(VIRTIO + register, 4, value));
        }

        private void in(long port) {
            dispatch(new VcpuExit.IoIn((int) port, 1, 1, data));
        }

        private void out(long port, long value) {
            slot[0] = value;
            dispatch(new VcpuExit.IoOut((int) port, 1, 1, data));
        }

        private void dispatch(VcpuExit exit) {
            handler.dispatch(exit);
            exits++;
        }
    }
}
