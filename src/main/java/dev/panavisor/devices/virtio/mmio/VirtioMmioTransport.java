package dev.panavisor.devices.virtio.mmio;

import static dev.panavisor.devices.virtio.mmio.MmioRegisters.*;

import dev.panavisor.bus.BusDevice;
import dev.panavisor.devices.InterruptLine;
import dev.panavisor.devices.virtio.DeviceStatus;
import dev.panavisor.devices.virtio.QueueWork;
import dev.panavisor.devices.virtio.VirtioDevice;
import dev.panavisor.devices.virtio.VirtioException;
import dev.panavisor.devices.virtio.VirtioFeatures;
import dev.panavisor.devices.virtio.VirtioInterrupt;
import dev.panavisor.devices.virtio.queue.QueueLayout;
import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import dev.panavisor.memory.GuestMemoryException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Predicate;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2): a page of registers that lets a guest driver find one
 * {@link VirtioDevice}, negotiate features, hand over its virtqueues and exchange notifications.
 *
 * <p>Two parts: a register decoder ({@link #read}, {@link #write}) and the status state machine of §2.1 / §3.1.1:
 * <pre>
 *   0 --ACKNOWLEDGE--> --DRIVER--> --FEATURES_OK--> --DRIVER_OK--> device active
 *                                   (refused if the driver accepted a feature that was not offered, or did not
 *                                    accept VERSION_1: the bit stays clear and the driver sees that, §3.1.1 step 6)
 *   any state --write 0--> reset: device reset, features, queues and InterruptStatus cleared
 *   device or driver error --> DEVICE_NEEDS_RESET set, configuration-change interrupt, notifications ignored
 * </pre>
 * A status write may only add bits, in that order; writes that clear bits or skip a step are ignored, since a driver
 * must not clear bits and must follow the order (§2.1.1, §3.1.1).
 *
 * <p>Interrupt: one line per device, on an edge-triggered pin. InterruptStatus and InterruptACK are
 * {@link InterruptStatusRegister}: the line rises at the first event the driver has not read and falls when it reads
 * InterruptStatus, so {@link InterruptLine#set} is called on those transitions only (one irqfd write per interrupt,
 * not per completed request), and an InterruptACK that arrives late (KVM's coalesced ring) never clears an event the
 * driver has not seen.
 *
 * <p>Not thread-safe by itself: the VMM makes every call into a transport and its device hold the transport's own
 * monitor (bus accesses from vCPU threads, host input into the device). The device's worker calls
 * {@link #serveQueue}, which takes the monitor itself and lets it go while the device's I/O runs ({@link QueueWork}),
 * so a vCPU handling an interrupt never waits for a disk. A reset, or a queue turned off, from a vCPU waits for the
 * work in flight to complete (and stops the worker from taking more) before it changes anything.
 *
 * <p>Notifications: a QueueNotify write that reaches the transport is handed to its {@link #routeNotifications
 * notification sink}. By default that serves the queue at once, on the calling thread (tests); the VMM routes
 * them to the device's worker instead, so no request is ever served on a vCPU thread. (Most notifications never get
 * here at all: the VMM registers an ioeventfd for each queue's index, and KVM signals the worker directly.)
 */
public final class VirtioMmioTransport implements BusDevice {
    /** The VendorID this VMM reports: "PANA" in little-endian ASCII. */
    public static final int VENDOR = 0x414e_4150;

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final QueueRegisters[] queues;
    private final Interrupts interrupts = new Interrupts();

    private int status;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    /** The driver wrote non-zero bits into a feature word beyond 63, which no device offers. */
    private boolean driverFeaturesBeyond64;
    private int queueSel;
    private final InterruptStatusRegister interruptStatus;
    private int configGeneration;
    /** Set at DRIVER_OK: the device has been activated with these queues. */
    private boolean active;
    private List<SplitVirtqueue> activeQueues = List.of();
    private String lastError = "";
    /** Work taken by {@link #serveQueue} whose I/O runs now, without this monitor. */
    private final WorkInFlight inFlight = new WorkInFlight(this);
    private IntConsumer notificationSink = this::notifyQueue;
    private Consumer<String> needsResetListener = reason -> { };
    private Consumer<String> lifecycleListener; // null while nobody listens: then no line is built

    public VirtioMmioTransport(VirtioDevice device, GuestMemory memory, InterruptLine line) {
        if ((device.offeredFeatures() & VirtioFeatures.VERSION_1) == 0) {
            throw new VirtioException(device.name() + " does not offer VIRTIO_F_VERSION_1, which version 2 needs");
        }
        this.device = device;
        this.memory = memory;
        this.interruptStatus = new InterruptStatusRegister(line);
        this.queues = new QueueRegisters[device.queueCount()];
        for (int i = 0; i < queues.length; i++) {
            queues[i] = new QueueRegisters(device.maxQueueSize(i));
        }
    }

    @Override
    public long read(long offset, int size) {
        if (offset >= CONFIG) {
            return device.readConfig((int) (offset - CONFIG), size);
        }
        if (size != 4 || offset % 4 != 0) {
            return 0; // §4.2.2: control registers are only read 32 bits wide and aligned
        }
        return switch ((int) offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> MODERN_VERSION;
            case DEVICE_ID -> device.deviceType();
            case VENDOR_ID -> VENDOR;
            case DEVICE_FEATURES -> deviceFeaturesSel == 0 || deviceFeaturesSel == 1
                    ? (device.offeredFeatures() >>> (32 * deviceFeaturesSel)) & 0xffff_ffffL
                    : 0;
            case QUEUE_NUM_MAX -> selectedQueue() == null ? 0 : selectedQueue().maxSize;
            case QUEUE_READY -> selectedQueue() != null && selectedQueue().ready ? 1 : 0;
            case INTERRUPT_STATUS -> interruptStatus.read();
            case STATUS -> status;
            case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> 0xffff_ffffL; // no such region: -1
            case CONFIG_GENERATION -> configGeneration;
            default -> 0; // write-only and reserved registers
        };
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset >= CONFIG) {
            device.writeConfig((int) (offset - CONFIG), size, value);
            return;
        }
        if (size != 4 || offset % 4 != 0) {
            return;
        }
        int v = (int) value;
        switch ((int) offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = v;
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = v;
            case DRIVER_FEATURES -> writeDriverFeatures(v);
            case QUEUE_SEL -> queueSel = v;
            case QUEUE_NUM -> {
                QueueRegisters q = configurableQueue();
                if (q != null) {
                    q.size = v;
                }
            }
            case QUEUE_READY -> writeQueueReady(v);
            case QUEUE_NOTIFY -> notificationSink.accept(v & 0xffff);
            case INTERRUPT_ACK -> interruptStatus.acknowledge(v);
            case STATUS -> writeStatus(v & 0xff);
            case QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW,
                 QUEUE_DEVICE_HIGH -> writeQueueAddress((int) offset, value);
            default -> { } // read-only or reserved: ignored
        }
    }

    /**
     * An available buffer notification for queue {@code index}, as a write of it to QueueNotify makes. Public for the
     * VMM's ioeventfd on base + {@link MmioRegisters#QUEUE_NOTIFY} with datamatch {@code index} (no MMIO exit).
     */
    public void notifyQueue(int index) {
        if (!serviceable(index)) {
            return;
        }
        try {
            device.queueNotify(index);
        } catch (VirtioException | GuestMemoryException e) {
            interrupts.deviceFailed(e.getMessage());
        }
    }

    /**
     * Serves queue {@code index} for the device's worker, which must not hold this transport's monitor: under the
     * monitor the device takes the available requests ({@link VirtioDevice#takeWork}), then their I/O runs without
     * it, then they are answered under it again; until the device has nothing more to take. Meanwhile vCPUs read
     * and write the registers freely, except that a reset or QueueReady 0 waits for the work in flight.
     */
    public void serveQueue(int index) {
        while (true) {
            QueueWork work;
            synchronized (this) {
                inFlight.awaitNoDrain();
                if (!serviceable(index)) {
                    return;
                }
                try {
                    work = device.takeWork(index);
                } catch (VirtioException | GuestMemoryException e) {
                    interrupts.deviceFailed(e.getMessage());
                    return;
                }
                if (work == null) {
                    return;
                }
                inFlight.started();
            }
            boolean performed = false;
            try {
                work.perform();
                performed = true;
            } finally {
                synchronized (this) {
                    inFlight.ended();
                    if (performed && !completed(work)) {
                        return;
                    }
                }
            }
        }
    }

    /**
     * For a worker polling queue {@code index} (docs/devices.md, "Polling before sleeping"): {@code step}'s answer for
     * it, under this monitor; false when the queue is not in service or is malformed (then, as in serving, a reset).
     */
    public synchronized boolean onQueue(int index, Predicate<SplitVirtqueue> step) {
        try {
            return serviceable(index) && step.test(activeQueues.get(index));
        } catch (VirtioException | GuestMemoryException e) {
            interrupts.deviceFailed(e.getMessage());
            return false;
        }
    }

    /** Answers the work, under this monitor; false if that left the device needing a reset. */
    private boolean completed(QueueWork work) {
        try {
            work.complete();
            return true;
        } catch (VirtioException | GuestMemoryException e) {
            interrupts.deviceFailed(e.getMessage());
            return false;
        }
    }

    /** Before a reset or QueueReady 0: the device answers what it took from the queues before they go. */
    private synchronized void awaitDrained() {
        inFlight.awaitDrained();
    }

    private boolean serviceable(int index) {
        return active && (status & DeviceStatus.DEVICE_NEEDS_RESET) == 0 && index >= 0 && index < queues.length
                && queues[index].ready;
    }

    /** Where QueueNotify writes go: {@code sink} has {@link #serveQueue} run on another thread, or notifyQueue. */
    public void routeNotifications(IntConsumer sink) {
        this.notificationSink = sink;
    }

    /**
     * Who hears that the device entered DEVICE_NEEDS_RESET (§2.1.2), once each time the bit goes from clear to set,
     * with {@link #lastError()}, on the thread that found the error, under this transport's monitor (the VMM tells
     * the user in one line: the device stays unusable until the driver resets it).
     */
    public void onNeedsReset(Consumer<String> listener) {
        this.needsResetListener = listener;
    }

    /**
     * Who hears of the device's life as the driver drives it (run --verbose): activated at DRIVER_OK, FEATURES_OK
     * refused and why, FAILED set by the driver, reset by a write of 0. Called with one line naming the device, on
     * the vCPU thread that wrote Status, under this transport's monitor. Without a listener no line is built.
     */
    public void onLifecycle(Consumer<String> listener) {
        this.lifecycleListener = listener;
    }

    /** The register names of virtio 1.2 §4.2.2, Table 4.1; the configuration space by its offset in it. */
    @Override
    public String registerName(long offset, boolean write) {
        return MmioRegisters.name(offset);
    }

    /** How many virtqueues the device has (QueueSel values 0 to this - 1). */
    public int queueCount() {
        return queues.length;
    }

    private QueueRegisters selectedQueue() {
        return queueSel >= 0 && queueSel < queues.length ? queues[queueSel] : null;
    }

    /** The selected queue if its set-up registers may be written: it exists, is not ready, device not live. */
    private QueueRegisters configurableQueue() {
        QueueRegisters q = selectedQueue();
        return q == null || q.ready || (status & DeviceStatus.DRIVER_OK) != 0 ? null : q;
    }

    private void writeDriverFeatures(int word) {
        if ((status & DeviceStatus.FEATURES_OK) != 0) {
            return; // negotiation is over (§3.1.1)
        }
        long bits = Integer.toUnsignedLong(word);
        switch (driverFeaturesSel) {
            case 0 -> driverFeatures = (driverFeatures & 0xffff_ffff_0000_0000L) | bits;
            case 1 -> driverFeatures = (driverFeatures & 0xffff_ffffL) | (bits << 32);
            default -> driverFeaturesBeyond64 |= bits != 0;
        }
    }

    private void writeQueueAddress(int register, long value) {
        QueueRegisters q = configurableQueue();
        if (q == null) {
            return; // §4.2.2: not while QueueReady is set
        }
        q.writeAddress(register, value);
    }

    private void writeQueueReady(int value) {
        QueueRegisters q = selectedQueue();
        if (q == null) {
            return;
        }
        if (value == 0) {
            int index = queueSel; // the wait lets go of the lock: another vCPU may select another queue meanwhile
            awaitDrained();
            q.ready = false;
            if (active && index < activeQueues.size()) {
                activeQueues.get(index).disable(); // the driver stops using this queue (§4.2.2)
            }
            return;
        }
        if (configurableQueue() == null) {
            return;
        }
        QueueLayout layout = q.layout();
        try {
            layout.validate(memory, q.maxSize);
            q.ready = true;
        } catch (VirtioException e) {
            interrupts.deviceFailed("queue " + queueSel + ": " + e.getMessage());
        }
    }

    private void writeStatus(int value) {
        if (value == 0) {
            awaitDrained();
            if (status != 0 && lifecycleListener != null) {
                lifecycleListener.accept(device.name() + ": reset by the driver (status 0x"
                        + Integer.toHexString(status) + " -> 0)");
            }
            reset();
            return;
        }
        int driverBits = status & ~DeviceStatus.DEVICE_NEEDS_RESET;
        if ((value & driverBits) != driverBits) {
            return; // the driver may not clear bits (§2.1.1); only a write of 0 does that
        }
        int added = value & ~status & ~DeviceStatus.DEVICE_NEEDS_RESET; // that bit is the device's to set
        if ((added & DeviceStatus.ACKNOWLEDGE) != 0) {
            status |= DeviceStatus.ACKNOWLEDGE;
        }
        if ((added & DeviceStatus.DRIVER) != 0 && (status & DeviceStatus.ACKNOWLEDGE) != 0) {
            status |= DeviceStatus.DRIVER;
        }
        if ((added & DeviceStatus.FEATURES_OK) != 0 && (status & DeviceStatus.DRIVER) != 0) {
            if (featuresAcceptable()) {
                status |= DeviceStatus.FEATURES_OK;
            } else if (lifecycleListener != null) {
                lifecycleListener.accept(lastError + "; FEATURES_OK refused");
            }
        }
        if ((added & DeviceStatus.DRIVER_OK) != 0 && (status & DeviceStatus.FEATURES_OK) != 0) {
            status |= DeviceStatus.DRIVER_OK;
            activate();
        }
        if ((added & DeviceStatus.FAILED) != 0) {
            status |= DeviceStatus.FAILED;
            if (lifecycleListener != null) {
                lifecycleListener.accept(device.name() + ": the driver gave up on the device (FAILED)");
            }
        }
    }

    /** §2.2, §6: only offered features, and VERSION_1 must be among them on this transport. */
    private boolean featuresAcceptable() {
        long offered = device.offeredFeatures();
        long unknown = driverFeatures & ~offered;
        if (unknown != 0 || driverFeaturesBeyond64) {
            lastError = String.format("%s: driver accepted features 0x%x that were not offered (0x%x)",
                    device.name(), unknown, offered);
            return false;
        }
        if ((driverFeatures & VirtioFeatures.VERSION_1) == 0) {
            lastError = device.name() + ": driver did not accept VIRTIO_F_VERSION_1 (legacy drivers unsupported)";
            return false;
        }
        return true;
    }

    private void activate() {
        if ((status & DeviceStatus.DEVICE_NEEDS_RESET) != 0) {
            return;
        }
        try {
            List<SplitVirtqueue> live = new ArrayList<>(queues.length);
            for (int i = 0; i < queues.length; i++) {
                QueueRegisters q = queues[i];
                if (!q.ready) {
                    throw new VirtioException("queue " + i + " was not set up before DRIVER_OK");
                }
                live.add(new SplitVirtqueue(memory, q.layout(), q.maxSize,
                        VirtioFeatures.has(driverFeatures, VirtioFeatures.EVENT_IDX),
                        VirtioFeatures.has(driverFeatures, VirtioFeatures.INDIRECT_DESC)));
            }
            activeQueues = List.copyOf(live);
            active = true;
            device.activate(driverFeatures, activeQueues, memory, interrupts);
            if (lifecycleListener != null) {
                lifecycleListener.accept(String.format("%s: activated (DRIVER_OK), features 0x%x, %d queue(s)",
                        device.name(), driverFeatures, queues.length));
            }
        } catch (VirtioException | GuestMemoryException e) {
            active = false;
            interrupts.deviceFailed(e.getMessage());
        }
    }

    /** A write of 0 to Status (§2.4): everything the driver set up is forgotten. */
    private void reset() {
        if (active) {
            device.reset();
        }
        active = false;
        activeQueues = List.of();
        status = 0;
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        driverFeaturesBeyond64 = false;
        queueSel = 0;
        for (QueueRegisters q : queues) {
            q.reset();
        }
        interruptStatus.reset();
    }

    private void raise(int bits) {
        interruptStatus.raise(bits);
    }

    /** The device's side of notifications: used buffers, configuration changes, failures. */
    private final class Interrupts implements VirtioInterrupt {
        @Override
        public void usedBuffers() {
            if (active) {
                raise(INTERRUPT_USED_BUFFER);
            }
        }

        @Override
        public void configChanged() {
            configGeneration++;
            raise(INTERRUPT_CONFIG_CHANGE);
        }

        @Override
        public void deviceFailed(String reason) {
            lastError = device.name() + ": " + reason;
            boolean entering = (status & DeviceStatus.DEVICE_NEEDS_RESET) == 0;
            status |= DeviceStatus.DEVICE_NEEDS_RESET;
            // §2.1.2: with DRIVER_OK set, the device tells the driver through a configuration change notification.
            if ((status & DeviceStatus.DRIVER_OK) != 0) {
                raise(INTERRUPT_CONFIG_CHANGE);
            }
            if (entering) {
                device.failed();
                needsResetListener.accept(lastError);
            }
        }
    }

    /** The device status field, for tests and diagnostics. */
    public int status() {
        return status;
    }

    /** InterruptStatus as the driver would read it, without the read's effect on the line. */
    public int interruptStatus() {
        return interruptStatus.status();
    }

    /** Whether the interrupt line is high: events the driver has not read yet (see InterruptStatusRegister). */
    public boolean interruptLineHigh() {
        return interruptStatus.lineHigh();
    }

    /** The features the driver accepted (meaningful once FEATURES_OK is set). */
    public long driverFeatures() {
        return driverFeatures;
    }

    /** The last error the device or the feature negotiation reported, or "" if none (as run --verbose shows it). */
    public String lastError() {
        return lastError;
    }

    public VirtioDevice device() {
        return device;
    }
}
