package dev.panavisor.devices.virtio;

/**
 * Requests a device took from a queue and has not answered yet, split so that the slow part runs without the
 * transport's lock ({@link VirtioDevice#takeWork}). A virtio-blk read may wait milliseconds for the disk; the lock
 * guards the registers that vCPUs read in every interrupt (InterruptStatus, InterruptACK), so holding it through the
 * I/O would stall the guest's interrupt handler, and the vCPU running it, behind the disk.
 *
 * <p>The transport calls {@link #perform} without its lock and then {@link #complete} with it, on the same thread,
 * once each. While work is in flight, whatever would change the queues under it (a reset, QueueReady 0) waits for it
 * to complete first, so the device never writes a used ring or guest buffer the driver has taken back (virtio 1.2
 * §2.4.1: after a reset the device must not use the old queues).
 */
public interface QueueWork {
    /**
     * Nothing to do outside the lock: the transport lets go of it and asks the device again ({@code takeWork}), so
     * a device that serves a queue in rounds of a queue's worth lets vCPUs and its other threads in between.
     */
    QueueWork AGAIN = new QueueWork() {
        @Override
        public void perform() {
        }

        @Override
        public void complete() {
        }
    };

    /**
     * The host I/O: moves the requests' data between the backend and the guest buffers that were checked when the
     * work was taken. Touches neither the queue nor the transport, which other threads use meanwhile. Failures are
     * kept for {@link #complete} (a request's error becomes its status byte) rather than thrown.
     */
    void perform();

    /**
     * Under the transport's lock again: answers the requests (status bytes, used ring, one interrupt if the driver
     * wants it).
     *
     * @throws VirtioException when the queue turned out malformed after the requests before the bad chain; the
     *                         transport then sets DEVICE_NEEDS_RESET
     */
    void complete();
}
