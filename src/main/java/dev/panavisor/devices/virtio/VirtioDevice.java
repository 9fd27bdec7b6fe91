package dev.panavisor.devices.virtio;

import dev.panavisor.devices.virtio.queue.SplitVirtqueue;
import dev.panavisor.memory.GuestMemory;
import java.util.List;

/**
 * A virtio device as its transport sees it: the small contract between the device-independent transport (register
 * decoding, status machine, feature negotiation, queue set-up) and one device type's behaviour.
 *
 * <p>Lifecycle, driven by the transport following the driver (virtio 1.2 §3.1.1): the driver reads
 * {@link #offeredFeatures()} and the configuration space, accepts a subset of the features, sets up
 * {@link #queueCount()} queues, and sets DRIVER_OK; the transport then calls {@link #activate}. From then on each
 * driver notification for queue {@code i} becomes {@link #queueNotify(int)}. A status write of 0 becomes
 * {@link #reset()}, after which the device is back where it was before activation.
 *
 * <p>Threading: a device need not be thread-safe. The VMM serialises every call into a device, from vCPU threads
 * and host input threads alike, under one lock per device (its transport's). The one exception is the I/O of
 * {@link QueueWork#perform()}, which a device that returns work from {@link #takeWork} runs without that lock.
 */
public interface VirtioDevice {

    /** The virtio device ID (virtio 1.2 §5): 2 for a block device, 3 for a console. */
    int deviceType();

    /** A short name for messages, such as {@code virtio-blk (disk.img)}. */
    String name();

    /** The features this device offers; must include {@link VirtioFeatures#VERSION_1}. */
    long offeredFeatures();

    /** How many virtqueues the device has. */
    int queueCount();

    /** The largest size (number of descriptors) the driver may give queue {@code index}, a power of two. */
    int maxQueueSize(int index);

    /**
     * Reads {@code size} bytes (1, 2, 4 or 8) at {@code offset} in the device-specific configuration space,
     * little-endian. Reads past the end of the structure return 0.
     */
    long readConfig(int offset, int size);

    /** Writes the device-specific configuration space; most fields are read-only and ignore writes. */
    void writeConfig(int offset, int size, long value);

    /**
     * The driver set DRIVER_OK: start working.
     *
     * @param features the features both sides agreed on
     * @param queues one queue per index 0 .. {@link #queueCount()}-1, all set up and ready
     * @param memory guest memory, for the buffers the descriptors point to
     * @param interrupt how to notify the driver
     * @throws VirtioException when the device cannot start; the transport then sets DEVICE_NEEDS_RESET
     */
    void activate(long features, List<SplitVirtqueue> queues, GuestMemory memory, VirtioInterrupt interrupt);

    /**
     * The driver made buffers available in queue {@code index} (an available buffer notification, §2.3).
     *
     * @throws VirtioException when the queue is malformed; the transport then sets DEVICE_NEEDS_RESET
     */
    void queueNotify(int index);

    /**
     * Serves queue {@code index} for a worker that will run the slow part without the device's lock: takes the
     * requests the driver made available and returns what is left to do, or null when nothing is (the transport
     * calls this again after each work it completes, until it returns null). Devices whose requests are quick keep
     * the default, which serves the queue at once, under the lock, through {@link #queueNotify}.
     *
     * @throws VirtioException when the queue is malformed before any request could be taken
     */
    default QueueWork takeWork(int index) {
        queueNotify(index);
        return null;
    }

    /**
     * Whether a notification for queue {@code index} is best served at once, on the thread of the exit that brought
     * it, rather than handed to the device's worker. Only for work that is a copy into host memory with no host
     * I/O and whose driver waits for it spinning: Linux's virtio console sends each console write and spins with
     * interrupts off until the buffer comes back, so a hand-off to another thread puts a thread wake-up (measured in
     * the nested lab: about 100 ms) in front of every line. Default: no.
     */
    default boolean servedInExit(int index) {
        return false;
    }

    /**
     * The device entered DEVICE_NEEDS_RESET (§2.1.2), whoever found the error: the device itself (through
     * {@link VirtioInterrupt#deviceFailed}) or the transport, serving a notification or checking a queue. The
     * transport then serves no notification until the driver resets the device; a device that also takes work from
     * its queues by itself (frames from a host network, host sockets) stops doing so here, and lets go of what
     * would otherwise keep a thread busy for it. Called under the device's lock. Default: nothing.
     */
    default void failed() {
    }

    /** Forget the queues and negotiated state; the device is ready to be set up again. */
    void reset();
}
